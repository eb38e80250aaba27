//! `eddy server`: serves the ksqlDB REST API over the engine of `--data-dir` until Ctrl-C or
//! SIGTERM. The API itself is `server::http`; this module reads the command-line files.
//!
//! `--config FILE` holds `key=value` lines (Java properties style: `#` and `!` comments)
//! used as default session properties. Its `listeners=http(s)://HOST:PORT` and (for https)
//! the `ssl.keystore.*`/`ssl.key.*` settings of the certificate set up the listener instead.
//! `--auth-file FILE` holds one `user: password[,role...]` per line, Jetty's property-file
//! format (`#` comments; passwords plain, `OBF:`, `MD5:` or `eddy passwd`'s PBKDF2); with it,
//! every request needs HTTP basic authentication, and every Postgres client
//! (`--pg-listen ADDR`) a password.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use server::Engine;
use server::credential::{Credential, PBKDF2_ITERATIONS};
use server::http::{HttpConfig, HttpServer, Tls};

/// The listener's address when neither `--listen` nor `listeners` gives one.
const DEFAULT_LISTEN: &str = "127.0.0.1:8088";
/// Settings of the HTTPS certificate: the listener's, not passed on to the engine.
const TLS_SETTINGS: [&str; 6] = [
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.key.location",
    "ssl.certificate.location",
];

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port); overrides the address of the
    /// config's `listeners` [default: 127.0.0.1:8088].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Default session properties: a file of `key=value` lines.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Basic-auth users: a file of `user: password[,role...]` lines (Jetty's format).
    #[arg(long, value_name = "FILE")]
    auth_file: Option<PathBuf>,
    /// Also serve the Postgres wire protocol on this address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pg_listen: Option<SocketAddr>,
}

/// `eddy passwd`: reads a password from standard input, prints its salted hash.
#[derive(clap::Args)]
pub struct PasswdArgs {
    /// PBKDF2 iterations (more is slower to check and to guess).
    #[arg(long, default_value_t = PBKDF2_ITERATIONS)]
    iterations: u32,
}

/// Prints the PBKDF2 hash of the first line of standard input, for an `--auth-file` line.
pub fn passwd(args: &PasswdArgs) -> Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("no password on standard input (try: echo 'my password' | eddy passwd)");
    }
    let hash = Credential::hash_password(password, args.iterations).map_err(anyhow::Error::msg)?;
    writeln!(std::io::stdout(), "{hash}")?;
    Ok(())
}

pub fn run(data_dir: &Path, bootstrap_servers: Option<&str>, args: &ServeArgs) -> Result<()> {
    let mut properties = match &args.config {
        Some(path) => {
            parse_properties(&read(path)?).with_context(|| format!("in {}", path.display()))?
        }
        None => BTreeMap::new(),
    };
    let users = match &args.auth_file {
        Some(path) => {
            Some(parse_users(&read(path)?).with_context(|| format!("in {}", path.display()))?)
        }
        None => None,
    };
    let (scheme, mut listen) = match properties.remove("listeners") {
        Some(listeners) => parse_listener(&listeners)?,
        None => (Scheme::Http, None),
    };
    if args.listen.is_some() {
        listen = args.listen;
    }
    let listen = match listen {
        Some(listen) => listen,
        None => DEFAULT_LISTEN.parse().context("default address")?,
    };
    let tls = match scheme {
        Scheme::Https => {
            let settings: BTreeMap<&str, String> = TLS_SETTINGS
                .iter()
                .filter_map(|key| Some((*key, properties.remove(*key)?)))
                .collect();
            Some(load_tls(&settings)?)
        }
        Scheme::Http => None,
    };
    let config = HttpConfig {
        users,
        tls,
        pg_listen: args.pg_listen,
        ..HttpConfig::default()
    };
    let backend = crate::backend_kind(bootstrap_servers, &properties)?;
    let engine = Engine::open_with(data_dir, backend).context("cannot open the data directory")?;
    engine
        .start_processing_log(&properties)
        .context("cannot start the processing log")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = HttpServer::start_with_properties(engine, listen, config, properties)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let mut stdout = std::io::stdout();
        let scheme = match scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        writeln!(
            stdout,
            "Eddy server listening on {scheme}://{}",
            server.local_addr()
        )?;
        if let Some(pg_addr) = server.pg_addr() {
            writeln!(stdout, "Eddy Postgres listening on {pg_addr}")?;
        }
        stdout.flush()?;
        stop_signal().await?;
        server.stop().await;
        Ok(())
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Waits for Ctrl-C or (on Unix) SIGTERM.
async fn stop_signal() -> Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot listen for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(())
}

/// `key=value` lines (or `key: value`, `key value`); blank lines and `#`/`!` comments skipped.
fn parse_properties(text: &str) -> Result<BTreeMap<String, String>> {
    let mut properties = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(split) = line.find(['=', ':', ' ', '\t']) else {
            bail!("line {}: expected key=value", number + 1);
        };
        let key = line[..split].trim();
        // The separator is `=` or `:`, with optional blanks around it, or blanks alone.
        let rest = line[split..].trim_start();
        let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim();
        if key.is_empty() {
            bail!("line {}: expected key=value", number + 1);
        }
        properties.insert(key.to_string(), value.to_string());
    }
    Ok(properties)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scheme {
    Http,
    Https,
}

/// ksqlDB's `listeners=https://HOST:PORT` (one listener; port 0 picks a free one).
fn parse_listener(listeners: &str) -> Result<(Scheme, Option<SocketAddr>)> {
    let listeners: Vec<&str> = listeners
        .split(',')
        .map(str::trim)
        .filter(|listener| !listener.is_empty())
        .collect();
    let [listener] = listeners[..] else {
        bail!("listeners: expected one http://HOST:PORT or https://HOST:PORT");
    };
    let (scheme, address) = if let Some(address) = listener.strip_prefix("https://") {
        (Scheme::Https, address)
    } else if let Some(address) = listener.strip_prefix("http://") {
        (Scheme::Http, address)
    } else {
        bail!("listeners: {listener} is not http://HOST:PORT or https://HOST:PORT");
    };
    let address = address.trim_end_matches('/');
    let resolved = std::net::ToSocketAddrs::to_socket_addrs(address)
        .with_context(|| format!("listeners: cannot resolve {address}"))?
        .next()
        .with_context(|| format!("listeners: {address} names no address"))?;
    Ok((scheme, Some(resolved)))
}

/// The HTTPS certificate and key: `ssl.keystore.location` (a PEM file with the key and the
/// certificate chain, or with `ssl.keystore.type=PKCS12` a PKCS#12 store), or
/// `ssl.certificate.location` and `ssl.key.location` (two PEM files).
fn load_tls(settings: &BTreeMap<&str, String>) -> Result<Tls> {
    let file = |key: &str| -> Result<Option<Vec<u8>>> {
        match settings.get(key) {
            Some(path) => Ok(Some(
                std::fs::read(path).with_context(|| format!("{key}: cannot read {path}"))?,
            )),
            None => Ok(None),
        }
    };
    let key_password = settings.get("ssl.key.password").map(String::as_str);
    let store_type = settings
        .get("ssl.keystore.type")
        .map_or("PEM", String::as_str);
    let tls = match (
        file("ssl.keystore.location")?,
        store_type.to_uppercase().as_str(),
    ) {
        (Some(store), "PEM") => Tls::from_pem(&store, &store, key_password),
        (Some(store), "PKCS12") => {
            let password = settings
                .get("ssl.keystore.password")
                .map_or("", String::as_str);
            Tls::from_pkcs12(&store, password)
        }
        (Some(_), other) => {
            bail!("ssl.keystore.type={other} is not supported: use PEM or PKCS12")
        }
        (None, _) => {
            let (Some(certificate), Some(key)) =
                (file("ssl.certificate.location")?, file("ssl.key.location")?)
            else {
                bail!(
                    "listeners=https://... needs ssl.keystore.location, or \
                     ssl.certificate.location and ssl.key.location"
                );
            };
            Tls::from_pem(&certificate, &key, key_password)
        }
    };
    tls.map_err(anyhow::Error::msg)
}

/// Jetty's property-file lines, `user: password[,role...]` (`=` also separates); blank
/// lines and `#` comments skipped. Roles are read and ignored.
fn parse_users(text: &str) -> Result<BTreeMap<String, Credential>> {
    let mut users = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((user, rest)) = trimmed.split_once([':', '=']) else {
            bail!("line {}: expected user: password", number + 1);
        };
        let user = user.trim();
        if user.is_empty() {
            bail!("line {}: expected user: password", number + 1);
        }
        let password = rest.split(',').next().unwrap_or_default();
        let credential = Credential::parse(password)
            .map_err(|error| anyhow::anyhow!("line {} (user {user}): {error}", number + 1))?;
        users.insert(user.to_string(), credential);
    }
    if users.is_empty() {
        bail!("no users: expected user: password lines");
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_files_read_like_java_properties() {
        let text = "# defaults\n\
                    auto.offset.reset=earliest\n\
                    ! another comment\n\
                    \n\
                    ksql.persistence.wrap.single.values = false\n\
                    cache.max.bytes.buffering: 0\n";
        let properties = parse_properties(text).expect("valid properties");
        assert_eq!(
            properties,
            BTreeMap::from([
                ("auto.offset.reset".to_string(), "earliest".to_string()),
                ("cache.max.bytes.buffering".into(), "0".into()),
                ("ksql.persistence.wrap.single.values".into(), "false".into()),
            ])
        );
        assert!(parse_properties("novalue").is_err());
        assert!(parse_properties("=x").is_err());
    }

    #[test]
    fn auth_files_hold_jetty_property_lines() {
        let cases = [
            (
                "alice:secret\n# comment\nbob:p:w\ncarol: MD5:5f4dcc3b5aa765d61d8327deb882cf99,user,admin\n",
                Some(vec![
                    ("alice", Credential::Plain("secret".into())),
                    ("bob", Credential::Plain("p:w".into())),
                    (
                        "carol",
                        Credential::parse("MD5:5f4dcc3b5aa765d61d8327deb882cf99").expect("md5"),
                    ),
                ]),
            ),
            (
                "dave = OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v,admin\n",
                Some(vec![("dave", Credential::Plain("password".into()))]),
            ),
            ("alice\n", None),
            (":nouser\n", None),
            ("alice: MD5:xyz\n", None),
            ("# only comments\n", None),
        ];
        for (text, expected) in cases {
            let parsed = parse_users(text).ok();
            let expected = expected.map(|users| {
                users
                    .into_iter()
                    .map(|(user, credential)| (user.to_string(), credential))
                    .collect::<BTreeMap<_, _>>()
            });
            assert_eq!(parsed, expected, "{text:?}");
        }
    }

    #[test]
    fn listeners_name_one_http_or_https_address() {
        let (scheme, address) = parse_listener("https://127.0.0.1:8443").expect("https");
        assert_eq!(scheme, Scheme::Https);
        assert_eq!(address, Some("127.0.0.1:8443".parse().expect("address")));
        let (scheme, _) = parse_listener("http://localhost:0/").expect("http");
        assert_eq!(scheme, Scheme::Http);
        for bad in ["ftp://h:1", "https://a:1,https://b:2", "", "https://nohost"] {
            assert!(parse_listener(bad).is_err(), "{bad}");
        }
    }
}
