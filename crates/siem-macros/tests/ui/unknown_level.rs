use siem_macros::security_audit;

#[security_audit(event_type = "authentication", level = "critical")]
fn login(user: &str) -> bool {
    !user.is_empty()
}

fn main() {}
