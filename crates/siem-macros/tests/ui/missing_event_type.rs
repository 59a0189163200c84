use siem_macros::security_audit;

#[security_audit(action = "login")]
fn login(user: &str) -> bool {
    !user.is_empty()
}

fn main() {}
