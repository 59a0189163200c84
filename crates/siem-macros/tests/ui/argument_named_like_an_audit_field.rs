use siem_macros::security_audit;

#[security_audit(event_type = "configuration")]
fn apply(action: &str) -> bool {
    !action.is_empty()
}

fn main() {}
