//! The function as rewritten: its body runs to completion (every `return` and `?` included),
//! then one event is emitted with the outcome judged from the value it returns, then that value
//! is returned.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Type};

use crate::args::{AuditArgs, Field, Sigil, RESERVED};

/// `function` with its audit event added, or the error that explains the misuse.
pub(crate) fn expand(args: AuditArgs, function: ItemFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &function.sig.constness {
        return Err(syn::Error::new(
            constness.span(),
            "#[security_audit] cannot go on a `const fn`: it reads the clock",
        ));
    }
    let recorded = recorded_arguments(&args, &function)?;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &function;
    let krate = &args.krate;
    let ret_type = returned_type(&sig.output);

    // The body runs in a closure (or an async block) so that `return` and `?` end the body,
    // not the function, and the event sees what it returned. The closure borrows the
    // arguments, so they can still be recorded afterwards.
    let run = if sig.asyncness.is_some() {
        match &ret_type {
            Some(ty) => quote!(#krate::__private::output_of::<#ty, _>(async #block).await),
            None => quote!(async #block.await),
        }
    } else {
        match &ret_type {
            Some(ty) => quote!((|| -> #ty #block)()),
            None => quote!((|| #block)()),
        }
    };
    let binding = match &ret_type {
        Some(ty) => quote!(__siem_audit_returned: #ty),
        None => quote!(__siem_audit_returned),
    };

    let outcome = match &args.outcome {
        Some(judge) => quote_spanned! {judge.span()=>
            #krate::__private::judged(&__siem_audit_returned, #judge)
        },
        None => quote_spanned! {sig.output.span()=>
            #krate::AuditOutcome::audit_outcome(&__siem_audit_returned)
        },
    };

    let event_type = &args.event_type;
    let function_name = sig.ident.to_string();
    let action = args
        .action
        .clone()
        .unwrap_or_else(|| LitStr::new(&function_name, sig.ident.span()));
    let fields = args.fields.iter().map(field_tokens);
    let arguments = recorded.iter().map(
        |arg| quote_spanned!(arg.span()=> #arg = (&&#krate::__private::Arg(&#arg)).audit_value()),
    );
    let common = quote! {
        event_type = #event_type,
        action = #action,
        duration_ms = __siem_audit_start.elapsed().as_secs_f64() * 1000.0,
        function = #function_name,
        #(#fields,)*
        #(#arguments,)*
    };
    let tracing = quote!(#krate::__private::tracing);
    let success_level = args.success_level.tokens(krate);
    let failure_level = args.failure_level.tokens(krate);
    let succeeded = message(&action, "succeeded");
    let failed = message(&action, "failed");

    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let __siem_audit_start = ::std::time::Instant::now();
            #[allow(unused_imports)]
            use #krate::__private::{ViaDebug as _, ViaDisplay as _};
            #[allow(clippy::redundant_closure_call)]
            let #binding = #run;
            match #outcome {
                #krate::Verdict::Success => #tracing::event!(
                    #success_level,
                    outcome = "success",
                    #common
                    #succeeded
                ),
                #krate::Verdict::Failure { reason } => #tracing::event!(
                    #failure_level,
                    outcome = "failure",
                    reason = reason.map(#tracing::field::display),
                    #common
                    #failed
                ),
            }
            __siem_audit_returned
        }
    })
}

/// The arguments recorded by default: every argument bound to a plain name, except `self`,
/// `_`-prefixed names and those in `skip(…)`; none with `skip_all`. A name in `skip(…)` that
/// is no argument, or a recorded argument named like an audit field, is an error.
fn recorded_arguments(args: &AuditArgs, function: &ItemFn) -> syn::Result<Vec<Ident>> {
    let names: Vec<&Ident> = function
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(pat) => Some(&pat.ident),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    for skipped in &args.skip {
        if !names.contains(&skipped) {
            return Err(syn::Error::new(
                skipped.span(),
                format!("`{skipped}` in skip(…) is not an argument of this function"),
            ));
        }
    }
    if args.skip_all {
        return Ok(Vec::new());
    }
    let mut recorded = Vec::new();
    for name in names {
        let text = name.to_string();
        if text.starts_with('_') || args.skip.iter().any(|s| s == name) {
            continue;
        }
        if args.fields.iter().any(|f| f.name.text() == text) || used_in_fields(args, name) {
            // `fields(user = %user.name)` or `fields(source_ip = %ip)` says how to record it.
            continue;
        }
        if RESERVED.contains(&text.as_str()) {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "the argument `{text}` has the name of a field the audit sets itself; \
                     add skip({text}), or record it as fields(another_name = …)"
                ),
            ));
        }
        recorded.push(name.clone());
    }
    Ok(recorded)
}

/// Whether a `fields(…)` value reads the argument `name` (`%ip`, `%req.user`, `ip.to_string()`).
fn used_in_fields(args: &AuditArgs, name: &Ident) -> bool {
    struct Finder<'a> {
        name: &'a Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            if path.leading_colon.is_none()
                && path.segments.len() == 1
                && path.segments[0].ident == *self.name
            {
                self.found = true;
            }
            syn::visit::visit_path(self, path);
        }
    }
    args.fields.iter().any(|field| {
        let mut finder = Finder { name, found: false };
        finder.visit_expr(&field.value);
        finder.found
    })
}

/// The type the function returns, when it can be written in a `let` (not `impl Trait`, which
/// is left to inference).
fn returned_type(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => Some(quote!(#ty)),
        ReturnType::Type(..) => None,
    }
}

fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// A `fields(…)` entry as `tracing` takes it.
fn field_tokens(field: &Field) -> TokenStream {
    let name = &field.name;
    let value = &field.value;
    match field.sigil {
        Some(Sigil::Display) => quote!(#name = %#value),
        Some(Sigil::Debug) => quote!(#name = ?#value),
        None => quote!(#name = #value),
    }
}

/// The event's message (`login failed`), braces escaped for the format string.
fn message(action: &LitStr, verb: &str) -> LitStr {
    let text = format!("{} {verb}", action.value())
        .replace('{', "{{")
        .replace('}', "}}");
    LitStr::new(&text, Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: TokenStream, function: TokenStream) -> String {
        let args: AuditArgs = syn::parse2(args).unwrap();
        let function: ItemFn = syn::parse2(function).unwrap();
        expand(args, function).unwrap().to_string()
    }

    #[test]
    fn a_sync_body_runs_in_a_closure_that_states_the_return_type() {
        let out = expanded(
            quote!(event_type = "authentication"),
            quote!(
                fn login(user: &str) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("(|| -> Result < () , E >"), "{out}");
        assert!(out.contains("Level :: WARN"), "{out}");
        assert!(out.contains("Level :: INFO"), "{out}");
        assert!(
            out.contains("action = \"login\""),
            "the function's name: {out}"
        );
        assert!(out.contains("\"login failed\""), "{out}");
    }

    #[test]
    fn an_async_body_is_awaited_in_place_with_its_output_stated() {
        let out = expanded(
            quote!(event_type = "authentication", level = "error"),
            quote!(
                async fn logout(session: u64) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.contains("output_of :: < Result < () , E > , _ > (async"),
            "{out}"
        );
        assert!(out.contains(". await"), "{out}");
        assert!(out.contains("Level :: ERROR"), "{out}");
    }

    #[test]
    fn impl_trait_returns_are_left_to_inference() {
        let out = expanded(
            quote!(event_type = "discovery", outcome = |_| true),
            quote!(
                fn scan() -> impl Iterator<Item = u16> {
                    0..10
                }
            ),
        );
        assert!(out.contains("(|| { 0 .. 10 })"), "{out}");
        assert!(!out.contains("|| -> impl"), "{out}");
    }

    #[test]
    fn self_and_skipped_and_underscored_arguments_are_not_recorded() {
        let out = expanded(
            quote!(event_type = "authentication", skip(password)),
            quote!(
                fn login(&self, user: &str, password: &str, _ctx: u8) -> bool {
                    true
                }
            ),
        );
        assert!(out.contains("user = (&& "), "{out}");
        assert!(!out.contains("password = "), "{out}");
        assert!(!out.contains("_ctx = "), "{out}");
        assert!(!out.contains("self = "), "{out}");
    }

    #[test]
    fn an_argument_read_by_a_field_is_recorded_there_only() {
        let out = expanded(
            quote!(event_type = "authentication", fields(source_ip = %ip, who = %req.user)),
            quote!(
                fn login(req: &Req, ip: IpAddr, attempt: u32) -> bool {
                    true
                }
            ),
        );
        assert!(!out.contains("ip = (&&"), "{out}");
        assert!(!out.contains("req = (&&"), "{out}");
        assert!(out.contains("attempt = (&&"), "{out}");
    }

    #[test]
    fn braces_in_the_action_are_escaped_in_the_message() {
        let out = expanded(
            quote!(event_type = "configuration", action = "set {limit}"),
            quote!(
                fn f() {}
            ),
        );
        assert!(out.contains("\"set {{limit}} succeeded\""), "{out}");
    }
}
