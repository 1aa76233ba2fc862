//! The real desktop window, driven over WebDriver (tauri-driver + WebKitWebDriver)
//! under Xvfb: embedded mode (the tasks of the example application: sign in,
//! claim, complete, see the outcomes, switch user) and remote mode against a running
//! taskpool server. Screenshots go to docs/screenshots/.
//!
//! Needs `tauri-driver` (`./run test` installs it into ~/.cache; or set
//! TASKPOOL_TAURI_DRIVER), `/usr/bin/WebKitWebDriver` (webkit2gtk-driver) and Xvfb
//! unless a DISPLAY is set.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::notification_service::NotificationService;
use crate::support_display::{display, Display};
use taskpool_server::ServerConfig;

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Two distinct free ports (both held while choosing, so they differ).
fn free_ports() -> Res<(u16, u16)> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// A process stopped with SIGTERM when dropped (tauri-driver must not be SIGKILLed:
/// WebKitWebDriver would stay on its port).
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tauri_driver() -> Res<PathBuf> {
    if let Some(p) = std::env::var_os("TASKPOOL_TAURI_DRIVER") {
        return Ok(PathBuf::from(p));
    }
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/tauri-driver-2.1.0/bin/tauri-driver"));
    match cached {
        Some(p) if p.exists() => Ok(p),
        _ => Ok(PathBuf::from("tauri-driver")),
    }
}

struct Desktop {
    client: Client,
    _driver: Service,
    _display: Display,
}

/// Starts tauri-driver and the app with `args`; returns the WebDriver session.
async fn launch(args: &[&str]) -> Res<Desktop> {
    launch_with(args, &[]).await
}

/// [`launch`] with more environment for the app (`env`).
async fn launch_with(args: &[&str], env: &[(&str, &str)]) -> Res<Desktop> {
    let screen = display(90)?;
    let display = screen.name.clone();
    let (port, native_port) = free_ports()?;
    let driver = Command::new(tauri_driver()?)
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
            "--native-driver",
            "/usr/bin/WebKitWebDriver",
        ])
        .env("DISPLAY", &display)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("tauri-driver could not start ({e}); `./run test` installs it"))?;
    let driver = Service(driver);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("tauri-driver did not listen".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let caps = json!({
        "tauri:options": {
            "application": env!("CARGO_BIN_EXE_taskpool-desktop"),
            "args": args,
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        return Err("capabilities".into());
    };
    // tauri-driver listens before its WebKitWebDriver does: a session asked for too
    // early is dropped mid-answer, so ask again for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            // (Any refusal: the driver's answers while it starts vary.)
            Err(e) if Instant::now() < deadline => {
                eprintln!("e2e: no WebDriver session yet ({e:?}); asking again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    Ok(Desktop {
        client,
        _driver: driver,
        _display: screen,
    })
}

const WAIT: Duration = Duration::from_secs(30);

async fn click(c: &Client, css: &str) -> Res {
    let deadline = Instant::now() + WAIT;
    loop {
        let e = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await?;
        match e.click().await {
            Ok(_) => return Ok(()),
            // The element was replaced by a re-render between finding and clicking.
            Err(fantoccini::error::CmdError::Standard(w))
                if w.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => {
                if let Ok(png) = c.screenshot().await {
                    let _ =
                        std::fs::write(std::env::temp_dir().join("desktop-e2e-failure.png"), png);
                }
                return Err(format!("clicking `{css}`: {err:?}").into());
            }
        }
    }
}

/// Waits until `css` matches an element whose text contains `text`.
async fn wait_text(c: &Client, css: &str, text: &str) -> Res {
    let deadline = Instant::now() + WAIT;
    loop {
        // (Errors while the page re-renders are retried until the deadline.)
        for e in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if e.text().await.unwrap_or_default().contains(text) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            let now: Vec<String> = futures::future::join_all(
                c.find_all(Locator::Css(css))
                    .await?
                    .into_iter()
                    .map(|e| async move { e.text().await.unwrap_or_default() }),
            )
            .await;
            return Err(format!("`{css}` never showed `{text}` (now: {now:?})").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `css` matches at least one element and every one contains `text` (a
/// filtered list has replaced the unfiltered one).
async fn wait_all_text(c: &Client, css: &str, text: &str) -> Res {
    let deadline = Instant::now() + WAIT;
    loop {
        let all = c.find_all(Locator::Css(css)).await.unwrap_or_default();
        let texts: Vec<String> = futures::future::join_all(
            all.into_iter()
                .map(|e| async move { e.text().await.unwrap_or_default() }),
        )
        .await;
        if !texts.is_empty() && texts.iter().all(|t| t.contains(text)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("not every `{css}` shows `{text}` (now: {texts:?})").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An attribute of the first element matching `css` (retried while the page re-renders).
async fn first_attr(c: &Client, css: &str, name: &str) -> Res<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(Some(v)) = e.attr(name).await {
                return Ok(v);
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no `{css}` with `{name}`").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(c: &Client, css: &str) -> Res<usize> {
    Ok(c.find_all(Locator::Css(css)).await?.len())
}

async fn wait_count(c: &Client, css: &str, ok: impl Fn(usize) -> bool, what: &str) -> Res<usize> {
    let deadline = Instant::now() + WAIT;
    loop {
        let n = match count(c, css).await {
            Ok(n) => n,
            Err(e) if Instant::now() < deadline => {
                eprintln!("e2e: counting `{css}` failed ({e}); again");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        if ok(n) {
            return Ok(n);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what} ({n} of `{css}`)").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Switches the list to a quick view, clicking again until the window shows it chosen
/// (a click can land on a button the page replaces at that moment).
async fn choose_view(c: &Client, view: &str) -> Res {
    let button = format!("[data-testid=view-{view}]");
    let chosen = format!("{button}[aria-pressed=true]");
    let deadline = Instant::now() + WAIT;
    loop {
        click(c, &button).await?;
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if count(c, &chosen).await.unwrap_or(0) == 1 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if Instant::now() > deadline {
            return Err(format!("the {view} view was never chosen").into());
        }
        eprintln!("e2e: the click on {button} did not choose it; again");
    }
}

async fn screenshot(c: &Client, name: &str) -> Res {
    // Let the page paint before the picture.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let png = c.screenshot().await?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), png)?;
    Ok(())
}

/// Types a filter and applies it (an empty one clears it).
async fn filter(c: &Client, text: &str) -> Res {
    let input = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=filter]"))
        .await?;
    input.clear().await?;
    if !text.is_empty() {
        input.send_keys(text).await?;
    }
    click(c, "[data-testid=apply]").await
}

/// alice claims the approval of her own request: the pool lets her (she is an
/// approver), the example engine refuses (four-eyes rule), and the window shows its
/// reason.
async fn refused_claim(c: &Client) -> Res {
    choose_view(c, "all").await?;
    filter(c, "task.taskDefinitionKey = approve and requester = alice").await?;
    wait_all_text(c, "[data-testid=task-row]", "Standing desks").await?;
    wait_count(
        c,
        "[data-testid=task-row]",
        |n| n == 1,
        "alice's own request",
    )
    .await?;
    let id = first_attr(c, "[data-testid=task-row]", "data-task-id").await?;
    click(
        c,
        &format!("[data-testid=task-row][data-task-id='{id}'] td.col-name"),
    )
    .await?;
    click(c, "[data-testid=action-claim]").await?;
    wait_text(
        c,
        &format!("[data-testid=message][data-task-id='{id}'][data-action=claim]"),
        "refused by example: alice requested this: another approver must decide (four-eyes rule)",
    )
    .await?;
    // The requests panel keeps it, with the reason.
    wait_text(
        c,
        &format!("[data-testid=request-row][data-task-id='{id}'][data-state=rejected]"),
        "four-eyes rule",
    )
    .await?;
    filter(c, "").await
}

/// Claims the first claimable triage task, then completes it through its form; checks it
/// leaves the list and the outcome panel shows both commands accepted. Returns the task
/// id.
async fn claim_and_complete(c: &Client, shots: Option<&str>) -> Res<String> {
    choose_view(c, "claimable").await?;
    filter(c, "task.taskDefinitionKey = triage").await?;
    wait_all_text(c, "[data-testid=task-row]", "Triage").await?;
    wait_count(c, "[data-testid=task-row]", |n| n > 0, "claimable tasks").await?;
    // The list re-renders when the view's snapshot arrives: read until it holds still.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = first_attr(c, "[data-testid=task-row]", "data-task-id").await?;
    click(
        c,
        &format!("[data-testid=task-row][data-task-id='{id}'] td.col-name"),
    )
    .await?;
    // Its form shows (read-only until claimed) once the detail has loaded.
    wait_count(
        c,
        "[data-testid=form] input[type=radio]",
        |n| n > 0,
        "the triage form",
    )
    .await?;
    click(c, "[data-testid=action-claim]").await?;
    wait_text(
        c,
        &format!("[data-testid=message][data-task-id='{id}'][data-action=claim]"),
        ": done",
    )
    .await?;
    // Claimed: it left the claimable list, live.
    let claimed_row = format!("[data-testid=task-row][data-task-id='{id}']");
    wait_count(
        c,
        &claimed_row,
        |n| n == 0,
        "the claimed task to leave the claimable list",
    )
    .await?;
    choose_view(c, "mine").await?;
    // (A table row is not interactable for WebKitWebDriver; its cells are.)
    click(c, &format!("{claimed_row} td.col-name")).await?;
    if let Some(prefix) = shots {
        screenshot(c, &format!("{prefix}-inbox.png")).await?;
    }
    // The triage form (the example application's): its required choice left empty
    // blocks the completion with a message; chosen, it completes.
    click(c, "[data-testid=action-complete]").await?;
    wait_text(c, "[data-testid=message]", "complete: Who resolves it").await?;
    // The third choice (carol) of the form's one radio group.
    click(c, "[data-testid=form] input[type=radio][id$='-2']").await?;
    click(c, "[data-testid=action-complete]").await?;
    wait_text(
        c,
        &format!("[data-testid=message][data-task-id='{id}'][data-action=complete]"),
        ": done",
    )
    .await?;
    wait_count(
        c,
        &claimed_row,
        |n| n == 0,
        "the completed task to leave the list",
    )
    .await?;
    let accepted = format!("[data-testid=outcome-row][data-task-id='{id}'][data-accepted=true]");
    wait_count(
        c,
        &accepted,
        |n| n >= 2,
        "the claim and the completion in the outcome panel",
    )
    .await?;
    if let Some(prefix) = shots {
        screenshot(c, &format!("{prefix}-outcomes.png")).await?;
    }
    filter(c, "").await?;
    Ok(id)
}

/// What the inbox offers beyond acting on tasks, in the real window: the completed task
/// `id` under Completed with its timeline; a process started through its start form
/// (its first task opens); a saved filter that is still there after the window
/// reloads; German.
async fn inbox_features(c: &Client, id: &str, user: &str) -> Res {
    click(c, "[data-testid=page-completed]").await?;
    click(
        c,
        &format!("[data-testid=completed-row][data-task-id='{id}'] button"),
    )
    .await?;
    wait_text(
        c,
        "[data-testid=completed-detail] [data-testid=timeline-entry][data-kind=completed]",
        user,
    )
    .await?;
    eprintln!("e2e: the completed task is under Completed with its timeline");

    click(c, "[data-testid=page-processes]").await?;
    click(c, "[data-testid=choose-handle-incident]").await?;
    // The start form is there (Start waits for it).
    let title_input = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(
            "[data-testid=start-panel] input[id$='-title']",
        ))
        .await?;
    // A required field left empty blocks the start.
    click(c, "[data-testid=start]").await?;
    wait_text(c, "[data-testid=start-message]", "What is wrong?").await?;
    let title = format!("Window e2e: beamer of {user}");
    title_input.send_keys(&title).await?;
    click(c, "[data-testid=start-panel] input[type=radio][id$='-1']").await?;
    click(c, "[data-testid=start]").await?;
    wait_text(c, "[data-testid=detail] h2", &title).await?;
    eprintln!("e2e: a process started through its start form; its first task opened");

    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=saved-name]"))
        .await?
        .send_keys("Everything")
        .await?;
    click(c, "[data-testid=save-filter]").await?;
    let saved = "[data-testid=saved-filter][data-name=Everything]";
    wait_count(c, saved, |n| n == 1, "the saved filter").await?;
    c.refresh().await?;
    // After the reload the app signs the same user in again (or offers the users).
    if wait_count(c, "[data-testid=user]", |n| n > 0, "the signed-in user")
        .await
        .is_err()
    {
        click(c, &format!("[data-testid=login-{user}]")).await?;
    }
    wait_count(c, saved, |n| n == 1, "the saved filter after a reload").await?;
    eprintln!("e2e: a saved filter is still there after the window reloaded");

    let language = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=language]"))
        .await?;
    language.select_by_value("de").await?;
    wait_text(c, "[data-testid=page-inbox]", "Posteingang").await?;
    language.select_by_value("en").await?;
    wait_text(c, "[data-testid=page-inbox]", "Inbox").await?;
    eprintln!("e2e: the window speaks German, and English again");
    click(c, "[data-testid=about]").await?;
    wait_text(
        c,
        "[data-testid=about-version]",
        &format!("Version {}", env!("CARGO_PKG_VERSION")),
    )
    .await?;
    click(c, "[data-testid=about-close]").await?;
    eprintln!("e2e: About names the app's version");
    Ok(())
}

async fn embedded() -> Res {
    let data = tempfile::tempdir()?;
    let dir = data.path().display().to_string();
    let app = launch(&["--embedded", "--data-dir", &dir, "--demo-rate", "0"] /* the flag's earlier name, still accepted */).await?;
    let c = &app.client;
    eprintln!("e2e: the embedded app is up");
    // The user switcher offers the example application's users.
    wait_count(c, "[data-testid^=login-]", |n| n >= 3, "the example users").await?;
    wait_text(c, "[data-testid=mode]", "Embedded").await?;
    eprintln!("e2e: the example users are offered");
    click(c, "[data-testid=login-alice]").await?;
    wait_text(c, "[data-testid=user]", "alice").await?;
    wait_text(c, "[data-testid=connection]", "live").await?;
    wait_count(
        c,
        "[data-testid=task-row]",
        |n| n > 0,
        "alice's example tasks",
    )
    .await?;
    eprintln!("e2e: alice signed in and sees her tasks, live");
    wait_text(c, "[data-testid=mode-badge]", "embedded").await?;
    let id = claim_and_complete(c, Some("desktop")).await?;
    refused_claim(c).await?;
    eprintln!("e2e: the engine's refusal reached the window with its reason");
    inbox_features(c, &id, "alice").await?;
    click(c, "[data-testid=page-inbox]").await?;
    // Switch user: bob signs in and sees his own tasks.
    click(c, "[data-testid=switch-user]").await?;
    click(c, "[data-testid=login-bob]").await?;
    wait_text(c, "[data-testid=user]", "bob").await?;
    wait_count(c, "[data-testid=task-row]", |n| n > 0, "bob's tasks").await?;
    assert_eq!(
        count(c, &format!("[data-testid=task-row][data-task-id='{id}']")).await?,
        0
    );
    app.client.close().await?;
    // The embedded task pool kept its data: the completed task is in the event store.
    assert!(data.path().join("taskpool/events.db").exists());
    Ok(())
}

async fn remote() -> Res {
    let server_data = tempfile::tempdir()?;
    let server = taskpool_server::serve(ServerConfig {
        data_dir: server_data.path().to_path_buf(),
        listen: "127.0.0.1:0".parse()?,
        example: true,
        example_rate: 0.0,
        ..ServerConfig::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let url = format!("http://{}", server.addr);
    let data = tempfile::tempdir()?;
    let dir = data.path().display().to_string();
    let app = launch(&["--remote", &url, "--data-dir", &dir]).await?;
    let c = &app.client;
    wait_text(c, "[data-testid=mode]", &url).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=login-name]"))
        .await?
        .send_keys("alice")
        .await?;
    c.find(Locator::Css("form button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_text(c, "[data-testid=user]", "alice").await?;
    wait_text(c, "[data-testid=mode-badge]", &url).await?;
    wait_text(c, "[data-testid=connection]", "live").await?;
    let id = claim_and_complete(c, None).await?;
    refused_claim(c).await?;
    inbox_features(c, &id, "alice").await?;
    click(c, "[data-testid=page-inbox]").await?;
    // The server itself holds the result.
    let node = server.node.clone();
    let gone = tokio::task::spawn_blocking(move || {
        node.task(
            &taskpool_core::query::Viewer::User {
                user: "alice".into(),
                groups: vec!["approvers".into(), "support".into()],
            },
            &id,
        )
        .is_err()
    })
    .await?;
    assert!(gone, "the completed task is gone on the server");
    // Settings: switch this app to embedded mode; the example users are offered, and
    // the choice is stored for the next start.
    click(c, "[data-testid=switch-user]").await?;
    click(c, "[data-testid=open-settings]").await?;
    click(c, "[data-testid=mode-embedded]").await?;
    click(c, "[data-testid=save-settings]").await?;
    wait_text(c, "[data-testid=mode]", "Embedded").await?;
    click(c, "[data-testid=login-carol]").await?;
    wait_text(c, "[data-testid=user]", "carol").await?;
    wait_text(c, "[data-testid=mode-badge]", "embedded").await?;
    let stored = std::fs::read_to_string(data.path().join("settings.json"))?;
    assert!(stored.contains("\"embedded\""), "{stored}");
    app.client.close().await?;
    server.stop().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// A notification clicked opens its task; the window's size and place are there again
/// at the next launch.
async fn notification_and_window() -> Res {
    let service = NotificationService::start().await?;
    let data = tempfile::tempdir()?;
    let dir = data.path().display().to_string();
    // New example requests every half second: tasks arrive that alice may claim.
    let app = launch_with(
        &["--embedded", "--data-dir", &dir, "--example-rate", "2"],
        &[("DBUS_SESSION_BUS_ADDRESS", &service.address)],
    )
    .await?;
    let c = &app.client;
    click(c, "[data-testid=login-alice]").await?;
    wait_text(c, "[data-testid=connection]", "live").await?;
    let deadline = Instant::now() + WAIT;
    let shown = loop {
        let shown = service.shown();
        if let Some(s) = shown.iter().find(|s| s.task_id.is_some()) {
            break s.clone();
        }
        if Instant::now() > deadline {
            return Err(format!("no notification with a task arrived: {shown:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        shown.actions.iter().any(|a| a == "default"),
        "{shown:?} offers no click"
    );
    let task = shown.task_id.clone().unwrap_or_default();
    eprintln!("e2e: a notification arrived: {} ({task})", shown.summary);
    // Looking at another quick view, where the task is not: Deferred (a new task has no
    // follow-up date; "My tasks" would show one that names alice as a candidate user).
    choose_view(c, "deferred").await?;
    let row = format!("[data-testid=task-row][data-task-id='{task}']");
    if let Err(e) = wait_count(c, &row, |n| n == 0, "the notified task out of sight").await {
        // What the window showed instead.
        let text = match c.find(Locator::Css(&row)).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let shot = std::env::temp_dir().join("desktop-e2e-out-of-sight.png");
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(&shot, png);
        }
        return Err(format!("{e}; the row: {text:?}; the window: {}", shot.display()).into());
    }
    service.click(shown.id).await?;
    wait_count(
        c,
        &format!("[data-testid=detail][data-task-id='{task}']"),
        |n| n == 1,
        "the clicked notification's task open",
    )
    .await?;
    wait_count(
        c,
        &format!("[data-testid=task-row][data-task-id='{task}'][aria-selected=true]"),
        |n| n == 1,
        "its row selected",
    )
    .await?;
    eprintln!("e2e: clicking the notification opened its task");
    // The window moved and resized: remembered for the next launch.
    c.set_window_rect(60, 40, 1100, 760).await?;
    let placed = c.get_window_rect().await?;
    let stored = data.path().join("window.json");
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(&stored).is_ok_and(|s| s.contains("1100")) {
        if Instant::now() > deadline {
            return Err(format!("the window's placement was not stored ({placed:?})").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Desktop {
        client,
        _driver,
        _display,
    } = app;
    client.close().await?;
    drop((_driver, _display));
    let again = launch(&["--embedded", "--data-dir", &dir, "--example-rate", "0"]).await?;
    wait_count(
        &again.client,
        "[data-testid^=login-]",
        |n| n >= 3,
        "the example users",
    )
    .await?;
    let restored = again.client.get_window_rect().await?;
    assert_eq!(restored, placed, "the window is where it was left");
    eprintln!("e2e: the window came back where it was left: {restored:?}");
    again.client.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_window_works_embedded_and_remote() {
    if let Err(e) = notification_and_window().await {
        panic!("notification and window: {e:?}");
    }
    if let Err(e) = embedded().await {
        panic!("embedded mode: {e:?}");
    }
    if let Err(e) = remote().await {
        panic!("remote mode: {e:?}");
    }
}
