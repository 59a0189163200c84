//! The attribute's arguments: `event_type = "…"`, `action = "…"`, `outcome = …`, the levels,
//! `fields(…)`, `skip(…)` / `skip_all` and `crate = …`, each checked where it is written.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

/// The fields every audit event carries; an argument or a `fields(…)` entry may not reuse them.
pub(crate) const RESERVED: &[&str] = &[
    "event_type",
    "action",
    "outcome",
    "reason",
    "duration_ms",
    "function",
    "message",
];

/// Everything written inside `#[security_audit(…)]`.
pub(crate) struct AuditArgs {
    pub event_type: LitStr,
    pub action: Option<LitStr>,
    pub outcome: Option<Expr>,
    pub success_level: Level,
    pub failure_level: Level,
    pub fields: Vec<Field>,
    pub skip: Vec<Ident>,
    pub skip_all: bool,
    pub krate: Path,
}

/// A `tracing` level, named in lower case in the attribute.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn parse(text: &LitStr) -> syn::Result<Level> {
        match text.value().as_str() {
            "trace" => Ok(Level::Trace),
            "debug" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warn" => Ok(Level::Warn),
            "error" => Ok(Level::Error),
            other => Err(syn::Error::new(
                text.span(),
                format!("unknown level {other:?}: expected one of trace, debug, info, warn, error"),
            )),
        }
    }

    /// The level's constant in `tracing` (`Level::WARN`), reached through `krate`.
    pub fn tokens(self, krate: &Path) -> TokenStream {
        let name = match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        let name = Ident::new(name, Span::call_site());
        quote!(#krate::__private::tracing::Level::#name)
    }
}

/// One `fields(…)` entry: `name = %expr`, `name = ?expr`, `name = expr` or a bare `name` (a
/// local of that name). Names may be dotted (`user.name`) or string literals.
pub(crate) struct Field {
    pub name: FieldName,
    pub sigil: Option<Sigil>,
    pub value: Expr,
}

/// A field's name as `tracing` takes it.
pub(crate) enum FieldName {
    Dotted(Punctuated<Ident, Token![.]>),
    Literal(LitStr),
}

impl FieldName {
    /// The name as the event will carry it.
    pub fn text(&self) -> String {
        match self {
            FieldName::Dotted(parts) => parts
                .iter()
                .map(Ident::to_string)
                .collect::<Vec<_>>()
                .join("."),
            FieldName::Literal(lit) => lit.value(),
        }
    }

    fn span(&self) -> Span {
        match self {
            FieldName::Dotted(parts) => parts.first().map_or_else(Span::call_site, Ident::span),
            FieldName::Literal(lit) => lit.span(),
        }
    }
}

impl ToTokens for FieldName {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            FieldName::Dotted(parts) => parts.to_tokens(tokens),
            FieldName::Literal(lit) => lit.to_tokens(tokens),
        }
    }
}

/// How a value is recorded: `%` with `Display`, `?` with `Debug`.
#[derive(Clone, Copy)]
pub(crate) enum Sigil {
    Display,
    Debug,
}

impl Parse for AuditArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut event_type = None;
        let mut action = None;
        let mut outcome = None;
        let mut success_level = None;
        let mut failure_level = None;
        let mut fields = Vec::new();
        let mut skip = Vec::new();
        let mut skip_all = false;
        let mut krate = None;
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let token: Token![crate] = input.parse()?;
                Ident::new("crate", token.span)
            } else {
                input.parse()?
            };
            match key.to_string().as_str() {
                "event_type" => set(&mut event_type, &key, value::<LitStr>(input)?)?,
                "action" => set(&mut action, &key, value::<LitStr>(input)?)?,
                "outcome" => set(&mut outcome, &key, value::<Expr>(input)?)?,
                "level" => set(
                    &mut failure_level,
                    &key,
                    Level::parse(&value::<LitStr>(input)?)?,
                )?,
                "success_level" => set(
                    &mut success_level,
                    &key,
                    Level::parse(&value::<LitStr>(input)?)?,
                )?,
                "crate" => set(&mut krate, &key, value::<Path>(input)?)?,
                "fields" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let list = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                    fields.extend(list);
                }
                "skip" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let list = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                    skip.extend(list);
                }
                "skip_all" => skip_all = true,
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{key}`: expected event_type, action, outcome, \
                             level, success_level, fields(…), skip(…), skip_all or crate"
                        ),
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let event_type = event_type.ok_or_else(|| {
            syn::Error::new(
                Span::call_site(),
                "missing `event_type`: write #[security_audit(event_type = \"authentication\", …)]",
            )
        })?;
        if event_type.value().trim().is_empty() {
            return Err(syn::Error::new(
                event_type.span(),
                "`event_type` must not be empty",
            ));
        }
        for field in &fields {
            let name = field.name.text();
            if RESERVED.contains(&name.as_str()) {
                return Err(syn::Error::new(
                    field.name.span(),
                    format!("`{name}` is set by the audit itself; give this field another name"),
                ));
            }
        }
        Ok(AuditArgs {
            event_type,
            action,
            outcome,
            success_level: success_level.unwrap_or(Level::Info),
            failure_level: failure_level.unwrap_or(Level::Warn),
            fields,
            skip,
            skip_all,
            krate: krate.unwrap_or_else(|| syn::parse_quote!(::tracing_siem)),
        })
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = if input.peek(LitStr) {
            FieldName::Literal(input.parse()?)
        } else {
            FieldName::Dotted(Punctuated::parse_separated_nonempty(input)?)
        };
        if !input.peek(Token![=]) {
            // `fields(user)`: the local `user`, recorded with `Display`.
            let FieldName::Dotted(parts) = &name else {
                return Err(input.error("a field named by a string needs a value: \"name\" = …"));
            };
            if parts.len() != 1 {
                return Err(input.error("a dotted field name needs a value: user.name = …"));
            }
            let local = parts[0].clone();
            return Ok(Field {
                name,
                sigil: Some(Sigil::Display),
                value: syn::parse_quote!(#local),
            });
        }
        input.parse::<Token![=]>()?;
        let sigil = if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            Some(Sigil::Display)
        } else if input.peek(Token![?]) {
            input.parse::<Token![?]>()?;
            Some(Sigil::Debug)
        } else {
            None
        };
        Ok(Field {
            name,
            sigil,
            value: input.parse()?,
        })
    }
}

/// `= value` after a key.
fn value<T: Parse>(input: ParseStream<'_>) -> syn::Result<T> {
    input.parse::<Token![=]>()?;
    input.parse()
}

/// Stores a key's value, refusing the key a second time.
fn set<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` is given twice"),
        ));
    }
    *slot = Some(value);
    Ok(())
}
