//! With no credentials anywhere, the AWS source refuses to start and says how to provide them.
//! One test function: it changes the process environment.

use opsdeck::fleet::Fleet;
use opsdeck::source::aws::{connect, discover, AwsOptions, AwsSetupError};

fn assert_actionable(err: &AwsSetupError) {
    let AwsSetupError::NoCredentials(msg) = err else {
        panic!("expected NoCredentials, got {err:?}")
    };
    for hint in [
        "AWS_ACCESS_KEY_ID",
        "--profile",
        "AWS_PROFILE",
        "aws sso login",
    ] {
        assert!(
            msg.contains(hint),
            "the message should mention {hint}: {msg}"
        );
    }
}

#[tokio::test]
async fn without_credentials_connect_and_discover_say_how_to_provide_them() {
    let home = tempfile::tempdir().expect("temp home");
    let missing = home.path().join("nowhere");
    std::env::set_var("HOME", home.path());
    std::env::set_var("AWS_CONFIG_FILE", missing.join("config"));
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"));
    // Never ask instance metadata (169.254.169.254) from a test.
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    for v in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
    ] {
        std::env::remove_var(v);
    }
    let fleet = Fleet::builtin();
    // Nothing listens here: the failure must come from the credentials check, before any call.
    let opts = AwsOptions {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..AwsOptions::default()
    };

    let err = connect(&fleet, &opts)
        .await
        .expect_err("connect must fail without credentials");
    assert_actionable(&err);

    let regions = vec!["eu-west-1".to_string()];
    let err = discover(&regions, None, &opts)
        .await
        .expect_err("discover must fail without credentials");
    assert_actionable(&err);

    let named = AwsOptions {
        profile: Some("no-such-profile".into()),
        ..opts.clone()
    };
    let err = connect(&fleet, &named)
        .await
        .expect_err("an unknown profile gives no credentials");
    assert_actionable(&err);

    let bad = AwsOptions {
        endpoint_url: Some("localhost:5000".into()),
        ..opts
    };
    assert!(matches!(
        connect(&fleet, &bad).await,
        Err(AwsSetupError::InvalidEndpoint(_))
    ));
}
