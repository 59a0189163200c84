//! What `#[security_audit]` needs at run time: how a returned value tells success from
//! failure ([`AuditOutcome`]), and the paths its expansion names.

use std::fmt::Display;

/// The outcome of an audited call, judged from what the function returned.
///
/// ```
/// use tracing_siem::{AuditOutcome, Verdict};
/// let failed: Result<(), String> = Err("bad password".into());
/// match failed.audit_outcome() {
///     Verdict::Failure { reason: Some(reason) } => assert_eq!(reason.to_string(), "bad password"),
///     _ => unreachable!(),
/// }
/// assert!(matches!(true.audit_outcome(), Verdict::Success));
/// ```
pub enum Verdict<'a> {
    /// The call did what was asked (`outcome = "success"`).
    Success,
    /// It did not (`outcome = "failure"`), with why when the value says (an error's
    /// `Display`).
    Failure {
        /// The event's `reason` field.
        reason: Option<&'a dyn Display>,
    },
}

/// A value a function returns that says whether the call succeeded: `#[security_audit]`
/// judges the returned value through it unless the attribute gives `outcome = …`.
///
/// Implemented for `Result<T, E>` with `E: Display` (the error is the reason), `bool` and `()`
/// (a function that returns nothing succeeds when it returns). Implement it for your own
/// return types:
///
/// ```
/// use tracing_siem::{AuditOutcome, Verdict};
///
/// enum Login { Granted, Denied(&'static str) }
/// impl AuditOutcome for Login {
///     fn audit_outcome(&self) -> Verdict<'_> {
///         match self {
///             Login::Granted => Verdict::Success,
///             Login::Denied(why) => Verdict::Failure { reason: Some(why) },
///         }
///     }
/// }
/// assert!(matches!(Login::Granted.audit_outcome(), Verdict::Success));
/// ```
#[diagnostic::on_unimplemented(
    message = "#[security_audit] cannot tell success from failure for `{Self}`",
    label = "this return type",
    note = "implement `tracing_siem::AuditOutcome` for it, or write `outcome = |returned| …` in the attribute (a closure returning true on success)"
)]
pub trait AuditOutcome {
    /// Success or failure, with the reason of a failure when there is one.
    fn audit_outcome(&self) -> Verdict<'_>;
}

impl<T, E: Display> AuditOutcome for Result<T, E> {
    fn audit_outcome(&self) -> Verdict<'_> {
        match self {
            Ok(_) => Verdict::Success,
            Err(error) => Verdict::Failure {
                reason: Some(error),
            },
        }
    }
}

impl AuditOutcome for bool {
    fn audit_outcome(&self) -> Verdict<'_> {
        if *self {
            Verdict::Success
        } else {
            Verdict::Failure { reason: None }
        }
    }
}

impl AuditOutcome for () {
    fn audit_outcome(&self) -> Verdict<'_> {
        Verdict::Success
    }
}

/// Paths the expansion of `#[security_audit]` names; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tracing;

    use super::Verdict;

    /// The outcome given by the attribute's `outcome = judge`; the bound gives the closure
    /// its argument type.
    pub fn judged<R>(returned: &R, judge: impl FnOnce(&R) -> bool) -> Verdict<'static> {
        if judge(returned) {
            Verdict::Success
        } else {
            Verdict::Failure { reason: None }
        }
    }

    /// An argument to record: by `Display` when its type has it (a `&str` shows as `alice`,
    /// not `"alice"`), else by `Debug`. The choice is made by method resolution:
    /// `(&&Arg(&x)).audit_value()` finds [`ViaDisplay`] first when `T: Display`.
    pub struct Arg<'a, T: ?Sized>(pub &'a T);

    /// The `Display` choice of [`Arg`].
    pub trait ViaDisplay {
        /// The recorded value.
        type Value;
        /// The argument as a `tracing` value.
        fn audit_value(&self) -> Self::Value;
    }

    impl<'a, T: std::fmt::Display + ?Sized> ViaDisplay for &Arg<'a, T> {
        type Value = tracing::field::DisplayValue<&'a T>;
        fn audit_value(&self) -> Self::Value {
            tracing::field::display(self.0)
        }
    }

    /// The `Debug` choice of [`Arg`].
    pub trait ViaDebug {
        /// The recorded value.
        type Value;
        /// The argument as a `tracing` value.
        fn audit_value(&self) -> Self::Value;
    }

    impl<'a, T: std::fmt::Debug + ?Sized> ViaDebug for Arg<'a, T> {
        type Value = tracing::field::DebugValue<&'a T>;
        fn audit_value(&self) -> Self::Value {
            tracing::field::debug(self.0)
        }
    }

    /// `future`, its output type stated, so that `?` inside an `async` body infers.
    pub fn output_of<R, F: std::future::Future<Output = R>>(future: F) -> F {
        future
    }
}
