use siem_macros::security_audit;

#[security_audit(event_type = "configuration", fields(outcome = "done"))]
fn apply(key: &str) -> bool {
    !key.is_empty()
}

fn main() {}
