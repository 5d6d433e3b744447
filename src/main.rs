//! The `clientline` binary: serve the API, apply migrations, create accounts.

mod logging;

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use api::{AppState, Settings};
use clap::{Parser, Subcommand, ValueEnum};
use domain::password::Password;
use domain::values::{Email, Label, Name};
use persistence::Db;
use persistence::vault::source::{
    KeySource, pending_path, read_key_file_if_any, replace_key_file, write_key_file,
};
use persistence::vault::{OperatorKey, Vault};

#[derive(Debug, Parser)]
#[command(name = "clientline", version, about = "Clientline: a headless CRM API")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    /// With no command, `clientline` serves: these are `serve`'s options.
    #[command(flatten)]
    serve: ServeArgs,

    /// `postgres://...` for PostgreSQL; anything else is a SQLite file, created when missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "clientline.db",
        global = true
    )]
    database_url: String,

    /// Database connections in the pool (default: four per CPU core, from 4 to 16).
    #[arg(
        long,
        env = "CLIENTLINE_DB_POOL_SIZE",
        default_value_t = default_pool_size(),
        global = true
    )]
    pool_size: u32,

    /// Log lines as `text` for people or `json` for log collectors; filter with RUST_LOG.
    #[arg(long, env = "CLIENTLINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,

    /// The operator key that seals the stored secrets (webhook signing secrets, TOTP secrets,
    /// OAuth signing keys): 32 random bytes as base64 or as 64 hex digits
    /// (`clientline secret-key generate` makes one). Prefer the environment variable: a
    /// command line is visible to other users of the machine. Without it and without
    /// --secret-key-file, SQLite keeps the key in a file beside the database
    /// (`<database>.key`, mode 0600, created on first start); PostgreSQL refuses to start.
    #[arg(
        long,
        env = "CLIENTLINE_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    secret_key: Option<String>,

    /// A file holding the operator key (base64 or hex), private to its owner (mode 0600).
    #[arg(long, env = "CLIENTLINE_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<std::path::PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// Where the database is and how its secrets open.
struct Store {
    database_url: String,
    secret_key: Option<String>,
    secret_key_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage the keys that sign OAuth access tokens (shared by every replica).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the operator key that seals the stored secrets.
    SecretKey {
        #[command(subcommand)]
        command: SecretKeyCommand,
    },
    /// Import companies, contacts or projects from a CSV file of any size, through the same
    /// checks and reports as `POST /v1/companies/import` and its siblings.
    Import(ImportArgs),
    /// Fill a pipeline with synthetic companies, each with a contact and a history row, by
    /// set-based SQL inside the database: for benchmarks (`bench/run`), not for real data
    /// (it records no events). Prints `{"first_company_id","last_company_id","phase_ids"}`.
    Seed(SeedArgs),
}

#[derive(Debug, clap::Args)]
struct SeedArgs {
    /// The account to fill.
    #[arg(long)]
    account: i64,
    /// The pipeline whose phases the companies are spread over, round-robin.
    #[arg(long)]
    pipeline: i64,
    /// How many companies to add.
    #[arg(long)]
    companies: i64,
    /// How many projects to add to `--project-pipeline` besides, linked to the companies
    /// round-robin, each with a value.
    #[arg(long, default_value_t = 0, requires = "project_pipeline")]
    projects: i64,
    /// The project pipeline whose phases the projects are spread over.
    #[arg(long)]
    project_pipeline: Option<i64>,
    /// How many tasks to add besides, assigned to the account's first user and linked to
    /// the companies round-robin (all overdue but one in a thousand, due now).
    #[arg(long, default_value_t = 0)]
    tasks: i64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportKind {
    Companies,
    Contacts,
    Projects,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportModeArg {
    /// Every row creates a record.
    Insert,
    /// A row whose key (a company's domain, a contact's email, a project's external_id)
    /// names an existing record updates it.
    Upsert,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// What the file holds.
    #[arg(value_enum)]
    kind: ImportKind,
    /// A CSV file whose header line names the fields, as the API's import takes it.
    file: std::path::PathBuf,
    /// The account to import into; may be left out when the database holds one account.
    #[arg(long)]
    account: Option<i64>,
    #[arg(long, value_enum, default_value_t = ImportModeArg::Insert)]
    mode: ImportModeArg,
    /// All or nothing: one bad row writes no row.
    #[arg(long)]
    atomic: bool,
    /// Rows per batch (each batch commits on its own unless --atomic).
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List the signing keys, newest first.
    List,
    /// Add a new key that signs from now on; older keys keep verifying until retired.
    Rotate,
    /// Retire a key: tokens it signed stop verifying (at once, on every replica).
    Retire {
        /// The key's id (`kid`), as `keys list` shows it.
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
enum SecretKeyCommand {
    /// Print a new random operator key (base64), for CLIENTLINE_SECRET_KEY.
    Generate,
    /// Re-seal every stored secret under a new operator key, in one transaction. Stop the
    /// service (every replica) first. With a key file, the new key is written to
    /// `<key file>.new` first and moved over the key file once the re-sealing has committed;
    /// an interrupted rotation is finished by running the command again, and meanwhile the
    /// service opens secrets under either key. With CLIENTLINE_SECRET_KEY, the new key is
    /// CLIENTLINE_NEW_SECRET_KEY, or one generated and printed before anything changes; then
    /// set CLIENTLINE_SECRET_KEY to it everywhere.
    Rotate {
        /// The new key (base64 or hex of 32 bytes); default: a new random one.
        #[arg(long, env = "CLIENTLINE_NEW_SECRET_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "CLIENTLINE_BIND", default_value = "127.0.0.1:8080")]
    bind: String,

    /// HTTP worker threads; default: one per CPU core.
    #[arg(long, env = "CLIENTLINE_WORKERS")]
    workers: Option<usize>,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "CLIENTLINE_BODY_LIMIT", default_value_t = 256 * 1024)]
    body_limit: usize,

    /// Requests each token may make per rate-limit window (without a valid token: each client
    /// address); more are answered 429. Counted by each replica on its own.
    #[arg(long, env = "CLIENTLINE_RATE_LIMIT", default_value_t = 6_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: u32,

    /// The rate-limit window, in seconds (1 to 3600).
    #[arg(long, env = "CLIENTLINE_RATE_LIMIT_WINDOW_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    rate_limit_window_secs: u64,

    /// Seconds a request's whole body may take to arrive; a slower one is answered 408 and
    /// its connection closed (1 to 3600).
    #[arg(long, env = "CLIENTLINE_BODY_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout_secs: u64,

    /// The URL clients reach the service at, such as `https://crm.example.com`: the OAuth
    /// issuer and the base of its endpoints. Default: `http://` and the bind address.
    #[arg(long, env = "CLIENTLINE_PUBLIC_URL")]
    public_url: Option<String>,

    /// Token requests per second allowed per OAuth client (bursts of twice as many).
    #[arg(long, env = "CLIENTLINE_TOKEN_RATE", default_value_t = 50.0)]
    token_rate: f64,

    /// Seconds a looked-up token is trusted before the database is asked again (0 to 60):
    /// the longest a token revoked through another replica still works here. Revocations
    /// through this replica take effect at once.
    #[arg(long, env = "CLIENTLINE_AUTH_CACHE_SECONDS", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(0..=60))]
    auth_cache_seconds: u64,

    /// Hours an `Idempotency-Key` answers retries after its first use (24 or more).
    #[arg(long, env = "CLIENTLINE_IDEMPOTENCY_HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(24..=24 * 365))]
    idempotency_hours: u64,
    /// How often the webhook worker looks for due deliveries, in milliseconds.
    #[arg(long, env = "CLIENTLINE_WEBHOOK_POLL_MS", default_value_t = 1000)]
    webhook_poll_ms: u64,

    /// The first retry of a failed delivery waits about this long (milliseconds); each
    /// further one about twice as long, at most an hour.
    #[arg(
        long,
        env = "CLIENTLINE_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 10_000
    )]
    webhook_retry_base_ms: u64,

    /// How long a failing delivery is retried, in seconds, before it fails and its
    /// subscription is disabled.
    #[arg(
        long,
        env = "CLIENTLINE_WEBHOOK_RETRY_WINDOW_SECS",
        default_value_t = 86_400
    )]
    webhook_retry_window_secs: u64,

    /// How long one delivery request may take, in seconds.
    #[arg(long, env = "CLIENTLINE_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    webhook_timeout_secs: u64,

    /// Allow webhook targets on loopback, private and link-local addresses and `localhost`
    /// (`true/false`, `1/0`, `yes/no`, `on/off`; the flag alone means true).
    #[arg(
        long,
        env = "CLIENTLINE_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value_t = false
    )]
    webhook_allow_private_targets: bool,

    /// Days events are kept (the events feed, and webhook deliveries with them).
    #[arg(long, env = "CLIENTLINE_EVENT_RETENTION_DAYS", default_value_t = 30)]
    event_retention_days: u64,

    /// How often the reminder worker records `task.due` and `meeting.starting`, in seconds.
    #[arg(long, env = "CLIENTLINE_REMINDER_POLL_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    reminder_poll_secs: u64,

    /// Minutes before a meeting starts that its `meeting.starting` is recorded.
    #[arg(long, env = "CLIENTLINE_MEETING_REMINDER_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(0..=10_080))]
    meeting_reminder_minutes: u64,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account and its first admin, and print the admin's token once.
    Create {
        /// The account's name, such as the firm's name.
        #[arg(long)]
        name: String,
        /// The first admin's email.
        #[arg(long)]
        admin_email: String,
        /// The first admin's name; default: the email's local part.
        #[arg(long)]
        admin_name: Option<String>,
        /// The first admin's password for the sign-in page (12 characters or more). Without
        /// it, the command asks on a terminal; elsewhere the admin gets none.
        #[arg(long, env = "CLIENTLINE_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// Print `{"account_id","user_id","token"}` instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Four connections per core, from 4 to 16. More only queue for the CPU: on two cores a pool
/// of 16 had a mixed soak's p99 at 50 ms on PostgreSQL and 49 ms on SQLite, a pool of 8 at
/// 35 and 29 ms, at the same throughput, and moves ran 17-40% faster (`bench/run`,
/// BENCHMARKS.md). Work past the pool waits, without a thread, for a permit. At most 16, as
/// before, so that a few replicas on large machines stay inside PostgreSQL's default of 100
/// connections.
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u32::try_from(cores.saturating_mul(4)).map_or(16, |n| n.clamp(4, 16))
}

/// glibc gives threads that contend for the allocator arenas of their own, up to eight per
/// core, and returns little of what they free. The service runs database work on blocking
/// threads (a pool per actix worker), and a SQLite connection's page cache lives in whichever
/// arena its thread used: in a 5-minute mixed soak on SQLite, RSS grew from 32 MiB to over
/// 100 MiB without settling. With two arenas it stays near 75 MiB at the same throughput
/// (`bench/run --soak`, BENCHMARKS.md). `MALLOC_ARENA_MAX` in the environment still decides.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn fewer_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets an allocator parameter, and is called before the first
        // thread starts.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fewer_malloc_arenas() {}

fn main() -> ExitCode {
    fewer_malloc_arenas();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let store = Store {
        database_url: cli.database_url,
        secret_key: cli.secret_key,
        secret_key_file: cli.secret_key_file,
    };
    let result = match cli.command {
        None => serve(&store, cli.pool_size, cli.serve),
        Some(Command::Serve(args)) => serve(&store, cli.pool_size, args),
        Some(Command::Migrate) => migrate(&store),
        Some(Command::Keys { command }) => keys(&store, command),
        Some(Command::SecretKey { command }) => secret_key(&store, command),
        Some(Command::Import(args)) => import(&store, args),
        Some(Command::Seed(args)) => seed(&store, &args),
        Some(Command::Account {
            command:
                AccountCommand::Create {
                    name,
                    admin_email,
                    admin_name,
                    admin_password,
                    json,
                },
        }) => create_account(
            &store,
            &name,
            &admin_email,
            admin_name.as_deref(),
            admin_password,
            json,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    logging::init(match format {
        LogFormat::Text => logging::Format::Text,
        LogFormat::Json => logging::Format::Json,
    });
}

impl Store {
    fn key_source(&self) -> Result<KeySource, String> {
        KeySource::choose(
            self.secret_key.clone(),
            self.secret_key_file.clone(),
            &self.database_url,
        )
        .map_err(|e| e.to_string())
    }
}

/// Opens the database with its operator key, applies the migrations and seals any secret
/// still in plaintext.
fn open(store: &Store, pool_size: u32) -> Result<Db, String> {
    let database_url = &store.database_url;
    let loaded = store
        .key_source()?
        .load()
        .map_err(|e| format!("cannot read the operator key: {e}"))?;
    if let Some(pending) = &loaded.unfinished_rotation {
        tracing::warn!(
            file = %pending.display(),
            "an operator key rotation did not finish: secrets open under the old key and this \
             one; run `clientline secret-key rotate` again to finish it, and keep the file"
        );
    }
    let db = Db::connect(database_url, pool_size, loaded.vault)
        .map_err(|e| format!("cannot open the database {}: {e}", redact(database_url)))?;
    let applied = db.migrate();
    if let Some(created) = &loaded.created {
        if applied.is_err() {
            // A key made now cannot be the one the stored secrets need.
            let _ = std::fs::remove_file(created);
        } else {
            tracing::warn!(
                file = %created.display(),
                key_id = db.vault().key_id(),
                "created the operator key file (mode 0600) that seals the stored secrets; \
                 back it up with the database: without it they cannot be read"
            );
        }
    }
    for name in applied.map_err(|e| format!("{e}"))? {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(db)
}

/// The URL without its password, for log lines.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn serve(store: &Store, pool_size: u32, args: ServeArgs) -> Result<(), String> {
    let db = open(store, pool_size)?;
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    if let Some(created) =
        persistence::accounts::create_default_if_empty(&mut conn).map_err(|e| format!("{e:?}"))?
    {
        // Printed, not logged: the token must not end up in log collectors. A closed stdout
        // must not stop the service, so a failed write is only logged.
        let _ = say(format_args!(
            "Created the default account \"{}\" (id {}) with admin {}.\n\
             Admin token (shown only now; store it safely):\n\n    {}\n\n\
             Try: curl -H 'Authorization: Bearer {}' http://{}/v1/me",
            created.account.name,
            created.account.id,
            created.admin.email,
            created.secret,
            created.secret,
            args.bind
        ));
    }
    drop(conn);
    let listener = TcpListener::bind(&args.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    tracing::info!(bind = %args.bind, backend = ?db.backend(), "serving");
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let state = AppState::new(
        db,
        Settings {
            body_limit: args.body_limit,
            body_timeout: std::time::Duration::from_secs(args.body_timeout_secs),
            api_quota: api::Quota {
                requests: args.rate_limit,
                window: std::time::Duration::from_secs(args.rate_limit_window_secs),
            },
            public_url: Some(public_url),
            token_rate: api::RateLimit {
                per_second: args.token_rate,
                burst: (args.token_rate * 2.0).clamp(1.0, 1e6) as u32,
            },
            idempotency_ttl: std::time::Duration::from_secs(args.idempotency_hours * 3600),
            auth_cache_ttl: std::time::Duration::from_secs(args.auth_cache_seconds),
            webhooks: webhook_settings(&args)?,
            reminders: api::ReminderSettings {
                interval: Duration::from_secs(args.reminder_poll_secs),
                meeting_lead: Duration::from_secs(args.meeting_reminder_minutes * 60),
            },
            ..Settings::default()
        },
    );
    actix_web::rt::System::new().block_on(async move {
        let server = api::serve(listener, state, args.workers).map_err(|e| e.to_string())?;
        server.await.map_err(|e| e.to_string())
    })?;
    tracing::info!("stopped");
    Ok(())
}

fn webhook_settings(args: &ServeArgs) -> Result<api::WebhookSettings, String> {
    let defaults = api::WebhookSettings::default();
    let millis = |ms: u64| chrono::TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX));
    if args.webhook_timeout_secs == 0 || args.webhook_poll_ms == 0 {
        return Err("--webhook-timeout-secs and --webhook-poll-ms must be above 0".to_owned());
    }
    Ok(api::WebhookSettings {
        poll_interval: Duration::from_millis(args.webhook_poll_ms),
        retry: domain::webhook::RetryPolicy {
            base: millis(args.webhook_retry_base_ms),
            window: millis(args.webhook_retry_window_secs.saturating_mul(1000)),
            ..defaults.retry
        },
        request_timeout: Duration::from_secs(args.webhook_timeout_secs),
        allow_private_targets: args.webhook_allow_private_targets,
        event_retention: Duration::from_secs(args.event_retention_days.saturating_mul(86_400)),
        ..defaults
    })
}

fn keys(store: &Store, command: KeysCommand) -> Result<(), String> {
    use persistence::signing_keys;
    let db = open(store, 1)?;
    let vault = db.vault().clone();
    let mut conn = db.conn().map_err(|e| format!("{e}"))?;
    let line = |k: &signing_keys::SigningKey| {
        format!(
            "{}  {}  created {}{}",
            k.kid,
            k.algorithm,
            k.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            k.retired_at
                .map(|r| format!("  retired {}", r.format("%Y-%m-%d %H:%M:%S UTC")))
                .unwrap_or_default()
        )
    };
    let text = match command {
        KeysCommand::List => {
            signing_keys::ensure(&mut conn, &vault).map_err(|e| format!("{e}"))?;
            let all = signing_keys::all(&mut conn, &vault).map_err(|e| format!("{e}"))?;
            all.iter().map(line).collect::<Vec<_>>().join("\n")
        }
        KeysCommand::Rotate => {
            signing_keys::ensure(&mut conn, &vault).map_err(|e| format!("{e}"))?;
            let key = signing_keys::rotate(&mut conn, &vault).map_err(|e| format!("{e}"))?;
            format!("new signing key: {}", line(&key))
        }
        KeysCommand::Retire { kid } => {
            let key = signing_keys::retire(&mut conn, &vault, &kid).map_err(|e| match e {
                persistence::StoreError::NotFound => format!("no live key has the id {kid}"),
                other => format!("{other}"),
            })?;
            format!("retired: {}", line(&key))
        }
    };
    say(format_args!("{text}")).map_err(|e| format!("cannot write the answer: {e}"))
}

fn import(store: &Store, args: ImportArgs) -> Result<(), String> {
    use api::wire::import::{CsvRows, Kind, check_csv, company_rows, contact_rows, project_rows};
    use domain::event::Outbox;
    use persistence::import::{ImportMode, RowOutcome};

    let db = open(store, 1)?;
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let account = match args.account {
        Some(id) => {
            persistence::accounts::get(&mut conn, id)
                .map_err(|_| format!("there is no account {id}"))?
                .id
        }
        None => persistence::accounts::sole(&mut conn)
            .map_err(|e| format!("{e:?}"))?
            .ok_or("the database holds several accounts (or none): pass --account <id>")?,
    };
    let open_file = || {
        std::fs::File::open(&args.file)
            .map_err(|e| format!("cannot open {}: {e}", args.file.display()))
    };
    // The whole file is checked before a batch is written: a broken line near the end must
    // not leave the first batches imported.
    check_csv(std::io::BufReader::new(open_file()?))
        .map_err(|e| format!("{}: {}", args.file.display(), e.problem().detail))?;
    let file = open_file()?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let kind = match args.kind {
        ImportKind::Companies => Kind::Companies,
        ImportKind::Contacts => Kind::Contacts,
        ImportKind::Projects => Kind::Projects,
    };
    let mode = match args.mode {
        ImportModeArg::Insert => ImportMode::Insert,
        ImportModeArg::Upsert => ImportMode::Upsert,
    };
    let mut rows = CsvRows::new(kind, mode, std::io::BufReader::new(file))
        .map_err(|e| format!("{}: {}", args.file.display(), e.problem().detail))?;
    // Written by the command line: no team member or app acts.
    let outbox = Outbox {
        actor: domain::token::ActorRef::default(),
        render: &api::wire::events::WIRE_JSON,
    };
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {percent:>3}% {msg} ({elapsed}, about {eta} left)",
        )
        .map_err(|e| e.to_string())?,
    );
    let started = std::time::Instant::now();
    let (mut created, mut updated, mut failed) = (0usize, 0usize, 0usize);
    let batch = if args.atomic {
        usize::MAX
    } else {
        args.batch.max(1)
    };
    loop {
        let mut raw = Vec::new();
        while raw.len() < batch {
            match rows
                .next_row()
                .map_err(|e| format!("{}: {}", args.file.display(), e.problem().detail))?
            {
                Some(row) => raw.push(row),
                None => break,
            }
        }
        if raw.is_empty() {
            break;
        }
        let numbers: Vec<usize> = raw.iter().map(|(n, _)| *n).collect();
        let outcomes = match kind {
            Kind::Companies => persistence::companies::import(
                &mut conn,
                account,
                company_rows(raw, mode),
                mode,
                args.atomic,
                &outbox,
            ),
            Kind::Contacts => persistence::contacts::import(
                &mut conn,
                account,
                contact_rows(raw, mode),
                mode,
                args.atomic,
                &outbox,
            ),
            Kind::Projects => persistence::projects::import(
                &mut conn,
                account,
                project_rows(raw, mode),
                mode,
                args.atomic,
                &outbox,
            ),
        }
        .map_err(|e| format!("the import stopped: {e:?}"))?;
        for (row, outcome) in numbers.iter().zip(outcomes) {
            match outcome {
                RowOutcome::Created(_) => created += 1,
                RowOutcome::Updated(_) => updated += 1,
                RowOutcome::Failed(invalid) => {
                    failed += 1;
                    bar.suspend(|| {
                        let _ = say(format_args!("row {row}: {invalid}"));
                    });
                }
                RowOutcome::Skipped => {}
            }
        }
        bar.set_position(rows.byte_position());
        bar.set_message(format!(
            "{created} created, {updated} updated, {failed} failed"
        ));
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let written = created + updated;
    let summary = if args.atomic && failed > 0 {
        format!("nothing was written (--atomic): {failed} rows are invalid")
    } else {
        format!(
            "{created} created, {updated} updated, {failed} failed in {seconds:.1} s ({:.0} rows/s)",
            written as f64 / seconds.max(0.001)
        )
    };
    say(format_args!("{summary}")).map_err(|e| format!("cannot write the summary: {e}"))?;
    if failed > 0 {
        return Err(format!("{failed} rows were not imported"));
    }
    Ok(())
}

fn migrate(store: &Store) -> Result<(), String> {
    open(store, 1).map(|_| ())
}

fn secret_key(store: &Store, command: SecretKeyCommand) -> Result<(), String> {
    let new_key = match command {
        SecretKeyCommand::Generate => {
            return say(format_args!("{}", OperatorKey::generate().to_base64()))
                .map_err(|e| e.to_string());
        }
        SecretKeyCommand::Rotate { new_key } => new_key
            .map(|k| OperatorKey::parse(&k))
            .transpose()
            .map_err(|e| format!("CLIENTLINE_NEW_SECRET_KEY {e}"))?,
    };
    let source = store.key_source()?;
    let db = open(store, 1)?;
    let current = db.vault().clone();
    let fail = |e: String| format!("the operator key was not rotated: {e}");
    if new_key.as_ref().is_some_and(|k| k.id() == current.key_id()) {
        return Err(fail("the new key is the current one".into()));
    }
    // The new key is kept where it survives a crash before anything is re-sealed with it.
    let (new, announce) = match source.file() {
        Some(file) => {
            let pending = pending_path(file);
            match read_key_file_if_any(&pending).map_err(|e| fail(e.to_string()))? {
                Some(unfinished) => {
                    if new_key.as_ref().is_some_and(|k| *k != unfinished) {
                        return Err(fail(format!(
                            "{} holds the key of an unfinished rotation, not \
                             CLIENTLINE_NEW_SECRET_KEY; run the command without a new key to \
                             finish that rotation first",
                            pending.display()
                        )));
                    }
                    (unfinished, None)
                }
                None => {
                    let new = new_key.unwrap_or_else(OperatorKey::generate);
                    write_key_file(&pending, &new)
                        .map_err(|e| fail(format!("cannot write {}: {e}", pending.display())))?;
                    (new, None)
                }
            }
        }
        None => match new_key {
            Some(new) => (new, None),
            None => {
                let new = OperatorKey::generate();
                let text = new.to_base64();
                (new, Some(text))
            }
        },
    };
    if let Some(text) = announce {
        say(format_args!(
            "New operator key (shown only now; store it before going on, it takes effect when \
             the re-sealing below commits):\n\n    {text}\n"
        ))
        .map_err(|e| fail(format!("cannot print the new key: {e}")))?;
    }
    let to = Vault::new(new.clone());
    let from = current.also_opening(new.clone());
    let mut conn = db.conn().map_err(|e| fail(e.to_string()))?;
    let resealed = persistence::vault::stored::reseal(&mut conn, &from, &to)
        .map_err(|e| fail(e.to_string()))?;
    let done = format!(
        "Re-sealed {} secrets ({} webhook secrets, {} TOTP secrets, {} signing keys) under \
         operator key {}.",
        resealed.total(),
        resealed.webhook_secrets,
        resealed.totp_secrets,
        resealed.signing_keys,
        new.id()
    );
    match source.file() {
        Some(file) => {
            replace_key_file(&pending_path(file), file).map_err(|e| {
                format!(
                    "{done} But {} could not be moved over {}: {e}; move it by hand",
                    pending_path(file).display(),
                    file.display()
                )
            })?;
            say(format_args!("{done} {} holds the new key.", file.display()))
        }
        None => say(format_args!(
            "{done} Set CLIENTLINE_SECRET_KEY to the new key wherever the service runs, then \
             start it."
        )),
    }
    .map_err(|e| e.to_string())
}

fn seed(store: &Store, args: &SeedArgs) -> Result<(), String> {
    if args.companies < 1 {
        return Err("--companies must be at least 1".into());
    }
    let db = open(store, 1)?;
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let seeded =
        persistence::seed::companies(&mut conn, args.account, args.pipeline, args.companies)
            .map_err(|e| match e {
                persistence::StoreError::NotFound => format!(
                    "account {} has no pipeline {} with phases",
                    args.account, args.pipeline
                ),
                other => format!("seeding failed: {other:?}"),
            })?;
    let mut out = serde_json::json!({
        "first_company_id": seeded.first_id,
        "last_company_id": seeded.last_id,
        "phase_ids": seeded.phase_ids,
    });
    if let (Some(pipeline), true) = (args.project_pipeline, args.projects > 0) {
        let projects = persistence::seed::projects(
            &mut conn,
            args.account,
            pipeline,
            args.projects,
            (seeded.first_id, seeded.last_id),
        )
        .map_err(|e| match e {
            persistence::StoreError::NotFound => format!(
                "account {} has no pipeline {pipeline} with phases",
                args.account
            ),
            other => format!("seeding projects failed: {other:?}"),
        })?;
        out["first_project_id"] = projects.first_id.into();
        out["last_project_id"] = projects.last_id.into();
        out["project_phase_ids"] = projects.phase_ids.into();
    }
    if args.tasks > 0 {
        let (first, last) = persistence::seed::tasks(
            &mut conn,
            args.account,
            args.tasks,
            (seeded.first_id, seeded.last_id),
            chrono::Utc::now().naive_utc(),
        )
        .map_err(|e| format!("seeding tasks failed: {e:?}"))?;
        out["first_task_id"] = first.into();
        out["last_task_id"] = last.into();
    }
    say(format_args!("{out}")).map_err(|e| e.to_string())
}

fn create_account(
    store: &Store,
    name: &str,
    admin_email: &str,
    admin_name: Option<&str>,
    admin_password: Option<String>,
    json: bool,
) -> Result<(), String> {
    let name = Label::parse(name).map_err(|e| format!("--name {}", e.message))?;
    let email = Email::parse(admin_email).map_err(|e| format!("--admin-email {}", e.message))?;
    let fallback = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("Admin")
        .to_owned();
    let admin_name = Name::parse(admin_name.unwrap_or(&fallback))
        .map_err(|e| format!("--admin-name {}", e.message))?;
    let admin_password = match admin_password {
        Some(raw) => Some(raw),
        None if !json && std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let typed = rpassword::prompt_password(
                "Password for the admin's sign-in (12 characters or more; empty for none): ",
            )
            .map_err(|e| format!("cannot read the password: {e}"))?;
            Some(typed).filter(|p| !p.is_empty())
        }
        None => None,
    };
    let admin_password = admin_password
        .map(|raw| Password::parse(&raw))
        .transpose()
        .map_err(|e| format!("--admin-password {}", e.message))?;
    let db = open(store, 1)?;
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let created = persistence::accounts::create(
        &mut conn,
        &name,
        &email,
        &admin_name,
        admin_password.as_ref(),
    )
    .map_err(|e| format!("{e:?}"))?;
    let printed = if json {
        say(format_args!(
            "{}",
            serde_json::json!({
                "account_id": created.account.id,
                "user_id": created.admin.id,
                "token": created.secret,
            })
        ))
    } else {
        say(format_args!(
            "Created account \"{}\" (id {}) with admin {} (id {}).\nAdmin token (shown only now; store it safely):\n\n    {}",
            created.account.name,
            created.account.id,
            created.admin.email,
            created.admin.id,
            created.secret
        ))
    };
    printed.map_err(|e| format!("the account was created, but its token could not be printed: {e}"))
}

/// Writes a line to stdout, reporting a failed write (a closed pipe) instead of panicking.
fn say(text: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    let result = writeln!(std::io::stdout(), "{text}");
    if let Err(e) = &result {
        tracing::warn!(error = %e, "could not write to stdout");
    }
    result
}
