//! `#[security_audit]`: one security event each time a function returns, with its outcome.
//!
//! Use it through `tracing_siem`, which re-exports it (`tracing_siem::security_audit`) together
//! with the types its expansion names ([`AuditOutcome`], [`Verdict`]); this crate holds only
//! the attribute.
//!
//! [`AuditOutcome`]: https://docs.rs/tracing-siem/latest/tracing_siem/trait.AuditOutcome.html
//! [`Verdict`]: https://docs.rs/tracing-siem/latest/tracing_siem/enum.Verdict.html

#![warn(missing_docs)]

mod args;
mod expand;

use proc_macro::TokenStream;

/// Emits one security event each time the function returns (sync or `async`), whatever path
/// it returns by (`return`, `?`, the end of the body).
///
/// ```text
/// use tracing_siem::security_audit;
///
/// #[security_audit(event_type = "authentication", action = "login", fields(source_ip = %ip))]
/// fn login(user: &str, password: &str, ip: std::net::IpAddr) -> Result<Session, LoginError> {
///     // …
/// }
/// ```
///
/// (`tracing_siem::security_audit` has this example as a doctest.)
///
/// A failed call emits, at WARN, the event a hand-written
/// `warn!(event_type = "authentication", action = "login", outcome = "failure", reason = %err,
/// duration_ms, function = "login", source_ip = %ip, user = %user, password = %password,
/// "login failed")` would (the layer redacts `password` by its name); a successful one the
/// same at INFO with `outcome = "success"` and no reason. The event is emitted where the
/// function returns, so the fields of the caller's spans are on it too.
///
/// Arguments:
/// - `event_type = "…"` (required) and `action = "…"` (default: the function's name).
/// - `outcome = judge`: a closure or function `Fn(&R) -> bool` saying whether the returned
///   value is a success. Without it the return type decides through `AuditOutcome`: `Ok` /
///   `Err` (the error's `Display` is the `reason`), `true` / `false`, `()` (always a
///   success); implement `AuditOutcome` for your own types.
/// - `level = "warn"` for failures and `success_level = "info"` for successes (`trace`,
///   `debug`, `info`, `warn`, `error`).
/// - `fields(name = %display, other = ?debug, plain = value, local)`: more fields, evaluated
///   when the function returns; names may be dotted (`user.name`).
/// - Every argument bound to a plain name is recorded with `Debug` when the function returns,
///   except `self`, names starting with `_`, names given in `fields(…)` or read by one of its
///   values (`fields(source_ip = %ip)` records `ip` as `source_ip` only), and `skip(a, b)`;
///   `skip_all` records none. An argument the function consumes (moves) cannot be read after
///   it returns: skip it, or record what you need through `fields(…)`.
/// - `crate = path`: where `tracing_siem` is, when it was renamed in `Cargo.toml`.
#[proc_macro_attribute]
pub fn security_audit(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(attr as args::AuditArgs);
    let function = match syn::parse::<syn::ItemFn>(item) {
        Ok(function) => function,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                "#[security_audit] goes on a function with a body (a free function, a method \
                 in an `impl` block, sync or async)",
            )
            .to_compile_error()
            .into()
        }
    };
    expand::expand(args, function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
