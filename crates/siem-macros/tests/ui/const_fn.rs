use siem_macros::security_audit;

#[security_audit(event_type = "configuration")]
const fn limit() -> bool {
    true
}

fn main() {}
