//! Where the AWS credentials come from: the destination's keys, else the environment, else the
//! shared credentials file, in the order the AWS tools use.

use std::path::PathBuf;

use aws_credential_types::Credentials;
use siem_ship::ConfigError;

use super::CloudWatchConfig;

/// Names the credentials carry in the signer (shown by nothing we log).
const PROVIDER: &str = "tracing-siem";

/// Reads an environment variable; unset and empty are alike.
type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// What the resolution reads from outside the configuration, so that tests can give it.
pub(crate) struct Environment {
    pub var: Lookup,
}

impl Environment {
    /// The process's environment.
    pub fn process() -> Environment {
        Environment {
            var: Box::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty())),
        }
    }
}

/// The credentials the destination signs with: `access_key_id`/`secret_access_key` (and
/// `session_token`) when configured; else, when `profile` is configured, that profile of the
/// shared credentials file; else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
/// (`AWS_SESSION_TOKEN`); else the profile `AWS_PROFILE` (or `default`) of the file at
/// `AWS_SHARED_CREDENTIALS_FILE` (or `~/.aws/credentials`).
pub(crate) fn resolve(
    config: &CloudWatchConfig,
    env: &Environment,
) -> Result<Credentials, ConfigError> {
    match (&config.access_key_id, &config.secret_access_key) {
        (Some(id), Some(secret)) => {
            return credentials(
                id.expose(),
                secret.expose(),
                config.session_token.as_ref().map(|t| t.expose().to_owned()),
                "access_key_id",
            )
        }
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "secret_access_key",
                "access_key_id is set without secret_access_key",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "access_key_id",
                "secret_access_key is set without access_key_id",
            ))
        }
        (None, None) if config.session_token.is_some() => {
            return Err(ConfigError::invalid(
                "session_token",
                "needs access_key_id and secret_access_key",
            ))
        }
        (None, None) => {}
    }
    if let Some(profile) = &config.profile {
        return from_file(profile, env, "profile");
    }
    let var = &env.var;
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return credentials(&id, &secret, var("AWS_SESSION_TOKEN"), "access_key_id");
    }
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    from_file(&profile, env, "access_key_id")
}

fn credentials(
    id: &str,
    secret: &str,
    token: Option<String>,
    key: &str,
) -> Result<Credentials, ConfigError> {
    if id.trim().is_empty() || secret.trim().is_empty() {
        return Err(ConfigError::invalid(key, "empty AWS credentials"));
    }
    Ok(Credentials::new(id, secret, token, None, PROVIDER))
}

/// The shared credentials file's path.
fn credentials_file(env: &Environment) -> Option<PathBuf> {
    let var = &env.var;
    var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".aws").join("credentials")))
}

fn from_file(profile: &str, env: &Environment, key: &str) -> Result<Credentials, ConfigError> {
    let Some(path) = credentials_file(env) else {
        return Err(missing(key, "no HOME to find ~/.aws/credentials in"));
    };
    if !path.exists() {
        return Err(missing(
            key,
            &format!("no credentials file at {}", path.display()),
        ));
    }
    // Without escapes: a secret key may hold characters an INI escape would change.
    let ini = ini::Ini::load_from_file_noescape(&path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    let section = ini.section(Some(profile)).ok_or_else(|| {
        missing(
            key,
            &format!("no profile [{profile}] in {}", path.display()),
        )
    })?;
    match (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => credentials(
            id,
            secret,
            section.get("aws_session_token").map(str::to_owned),
            key,
        ),
        _ => Err(missing(
            key,
            &format!(
                "profile [{profile}] of {} lacks aws_access_key_id or aws_secret_access_key",
                path.display()
            ),
        )),
    }
}

fn missing(key: &str, why: &str) -> ConfigError {
    ConfigError::invalid(
        key,
        format!(
            "no AWS credentials: set access_key_id and secret_access_key, or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a shared credentials file ({why})"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn environment(vars: &[(&'static str, String)]) -> Environment {
        let vars = vars.to_vec();
        Environment {
            var: Box::new(move |name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            }),
        }
    }

    fn config() -> CloudWatchConfig {
        CloudWatchConfig::new("eu-west-1", "g", "s")
    }

    fn file(dir: &tempfile::TempDir) -> String {
        let path = dir.path().join("credentials");
        std::fs::write(
            &path,
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = a/b+c\n\n\
             [ops]\naws_access_key_id=AKIDOPS\naws_secret_access_key=s\naws_session_token=tok\n",
        )
        .unwrap();
        path.display().to_string()
    }

    #[test]
    fn configuration_then_environment_then_the_shared_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir);
        let env_keys = [
            ("AWS_ACCESS_KEY_ID", "AKIDENV".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "envsecret".to_owned()),
            ("AWS_SESSION_TOKEN", "envtoken".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", path.clone()),
        ];
        let mut c = config();
        c.access_key_id = Some(Secret::new("AKIDCONF"));
        c.secret_access_key = Some(Secret::new("confsecret"));
        let got = resolve(&c, &environment(&env_keys)).unwrap();
        assert_eq!(got.access_key_id(), "AKIDCONF");
        assert_eq!(got.session_token(), None);

        let got = resolve(&config(), &environment(&env_keys)).unwrap();
        assert_eq!(
            (
                got.access_key_id(),
                got.secret_access_key(),
                got.session_token()
            ),
            ("AKIDENV", "envsecret", Some("envtoken"))
        );

        let file_only = [("AWS_SHARED_CREDENTIALS_FILE", path.clone())];
        let got = resolve(&config(), &environment(&file_only)).unwrap();
        assert_eq!(
            (got.access_key_id(), got.secret_access_key()),
            ("AKIDDEFAULT", "a/b+c")
        );

        let with_profile = [
            ("AWS_SHARED_CREDENTIALS_FILE", path.clone()),
            ("AWS_PROFILE", "ops".to_owned()),
        ];
        let got = resolve(&config(), &environment(&with_profile)).unwrap();
        assert_eq!(
            (got.access_key_id(), got.session_token()),
            ("AKIDOPS", Some("tok"))
        );

        // A configured profile wins over the environment's keys.
        let mut c = config();
        c.profile = Some("ops".into());
        let got = resolve(&c, &environment(&env_keys)).unwrap();
        assert_eq!(got.access_key_id(), "AKIDOPS");
    }

    #[test]
    fn missing_or_partial_credentials_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let nowhere = [("HOME", dir.path().display().to_string())];
        let e = resolve(&config(), &environment(&nowhere)).unwrap_err();
        assert_eq!(e.key(), "access_key_id");
        assert!(e.reason().contains("no credentials file"), "{e}");

        let path = file(&dir);
        let mut c = config();
        c.profile = Some("missing".into());
        let e = resolve(&c, &environment(&[("AWS_SHARED_CREDENTIALS_FILE", path)])).unwrap_err();
        assert_eq!(e.key(), "profile");
        assert!(e.reason().contains("no profile [missing]"), "{e}");

        let mut c = config();
        c.session_token = Some(Secret::new("t"));
        assert_eq!(
            resolve(&c, &environment(&[])).unwrap_err().key(),
            "session_token"
        );
    }
}
