//! The built page (dist/) in a real headless Chromium, driven through chromedriver: load it,
//! drop an EmoDB recording, check every drawing, record from a fake microphone until the live
//! timeline moves, and prove that no request left the page's origin; and, in a second visit on
//! a phone-sized window by keyboard alone, refuse the microphone and check the page says so and
//! still takes a file.
//!
//! Run by scripts/test.sh after `trunk build --release`; `TIMNET_DIST` overrides dist/.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, LoggingPrefsLogLevel};

fn workspace() -> PathBuf {
    // Read at run time (cargo test sets it): checkouts at different paths may share one target
    // directory, and cargo does not rebuild this test only because the checkout moved.
    let dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    dir.join("../..").canonicalize().expect("the workspace directory")
}

/// A minimal static file server for dist/ on a free loopback port.
fn serve(dir: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || respond(stream, &dir));
        }
    });
    port
}

fn respond(mut stream: TcpStream, dir: &Path) {
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    let file = dir.join(path.trim_start_matches('/'));
    let (status, body) = match (path.contains(".."), std::fs::read(&file)) {
        (false, Ok(body)) => ("200 OK", body),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

struct Process(Child);
impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for(driver: &WebDriver, css: &str, seconds: u64) -> WebDriverResult<WebElement> {
    driver.query(By::Css(css)).wait(Duration::from_secs(seconds), Duration::from_millis(250)).first().await
}

/// True when the canvas has pixels that are not plain white.
async fn canvas_drawn(driver: &WebDriver, testid: &str) -> WebDriverResult<bool> {
    let script = format!(
        "const c = document.querySelector('[data-testid={testid}]'); if (!c) return false; \
         const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         let coloured = 0; for (let i = 0; i < d.length; i += 4) {{ if (d[i] < 240 || d[i+1] < 240 || d[i+2] < 240) coloured++; }} \
         return coloured > c.width * c.height / 4;"
    );
    driver.execute(&script, Vec::new()).await?.convert()
}

/// Chromium's switches for every visit: headless, no background traffic of its own, WebGPU
/// offered (SwiftShader here), a fake capture device.
const CHROMIUM_ARGS: [&str; 11] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1800",
    "--enable-unsafe-webgpu",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",
];

/// A headless Chromium behind its own chromedriver, with `extra` switches, serving dist/.
struct Visit {
    driver: WebDriver,
    origin: String,
    _chromedriver: Process,
}

async fn visit(extra: &[String]) -> WebDriverResult<Visit> {
    let dist = std::env::var_os("TIMNET_DIST").map(PathBuf::from).unwrap_or_else(|| workspace().join("dist"));
    assert!(dist.join("index.html").is_file(), "build the page first: trunk build ({})", dist.display());
    let origin = format!("http://127.0.0.1:{}", serve(dist));
    let driver_port = free_port();
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let chromedriver = Process(
        Command::new(chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver"),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut caps = DesiredCapabilities::chrome();
    if let Ok(binary) = std::env::var("CHROMIUM") {
        caps.set_binary(&binary)?;
    }
    for arg in CHROMIUM_ARGS.iter().map(|a| a.to_string()).chain(extra.iter().cloned()) {
        caps.add_arg(&arg)?;
    }
    caps.set_logging_prefs("performance", LoggingPrefsLogLevel::All)?;
    let driver = WebDriver::new(format!("http://127.0.0.1:{driver_port}"), caps).await?;
    Ok(Visit { driver, origin, _chromedriver: chromedriver })
}

/// Open the page (with `query`) and wait until the model has loaded and (on WebGPU) compiled
/// its shaders.
async fn open_page(visit: &Visit, query: &str) -> WebDriverResult<()> {
    visit.driver.goto(format!("{}/{query}", visit.origin)).await?;
    visit
        .driver
        .query(By::XPath("//*[@data-testid='status'][starts-with(., 'Ready')]"))
        .wait(Duration::from_secs(300), Duration::from_millis(500))
        .first()
        .await?;
    Ok(())
}

fn emodb_angry() -> PathBuf {
    workspace().join("tests/fixtures/corpus/emodb_03a01Wa.wav").canonicalize().expect("the EmoDB fixture")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_answers_a_file_and_the_microphone_privately() -> WebDriverResult<()> {
    let wav = emodb_angry();
    let visit = visit(&[
        "--use-fake-ui-for-media-stream".into(),
        format!("--use-file-for-fake-audio-capture={}", wav.display()),
    ])
    .await?;
    let result = exercise(&visit, &wav).await;
    save_screenshot(&visit.driver, "page.png").await;
    visit.driver.clone().quit().await?;
    result
}

/// A phone-sized window used with the keyboard alone, and the microphone refused (Chromium
/// denies instead of prompting): nothing overflows the screen, Tab reaches the record button
/// and the file picker, Enter on the button gets the refusal in words, and a file still works.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_phone_by_keyboard_a_denied_microphone_gets_a_message_and_files_still_work() -> WebDriverResult<()> {
    let visit = visit(&["--deny-permission-prompts".into()]).await?;
    let result = async {
        let driver = &visit.driver;
        driver.set_window_rect(0, 0, 390, 844).await?;
        open_page(&visit, "?cpu").await?;
        assert_fits_the_width(driver, "the page at rest").await?;
        let mut reached = Vec::new();
        for _ in 0..12 {
            driver.action_chain().send_keys(Key::Tab).perform().await?;
            let focused: String = driver
                .execute("return document.activeElement.getAttribute('data-testid') || '';", Vec::new())
                .await?
                .convert()?;
            if focused == "record" {
                driver.action_chain().send_keys(Key::Enter).perform().await?;
            }
            reached.push(focused);
        }
        println!("Tab order: {reached:?}");
        assert!(reached.iter().any(|r| r == "file-input"), "Tab reaches the file picker: {reached:?}");
        let record_at = reached.iter().position(|r| r == "record").expect("Tab reaches the record button");
        let error = wait_for(driver, "[data-testid=error]", 60).await?.text().await?;
        println!("denied microphone (Enter on Tab stop {}): {error}", record_at + 1);
        assert!(error.contains("Microphone access was denied"), "{error}");
        let input = driver.find(By::Css("[data-testid=file-input]")).await?;
        input.send_keys(emodb_angry().to_str().unwrap()).await?;
        let top = wait_for(driver, "[data-testid=top]", 300).await?.text().await?;
        println!("then a file: {top}");
        wait_for(driver, "[data-testid=fusion] .wbar", 60).await?;
        assert_fits_the_width(driver, "the page with a result").await?;
        save_screenshot(driver, "page-phone.png").await;
        Ok(())
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// Keep what the browser shows as target/e2e/NAME, an artifact of the run (best effort).
async fn save_screenshot(driver: &WebDriver, name: &str) {
    let dir = workspace().join("target/e2e");
    std::fs::create_dir_all(&dir).ok();
    driver.screenshot(&dir.join(name)).await.ok();
}

/// No horizontal scrolling: everything fits the window's width.
async fn assert_fits_the_width(driver: &WebDriver, what: &str) -> WebDriverResult<()> {
    let (content, window): (f64, f64) = driver
        .execute("return [document.documentElement.scrollWidth, window.innerWidth];", Vec::new())
        .await?
        .convert()?;
    println!("{what}: {content} px of content in a {window} px window");
    assert!(content <= window, "{what} is {content} px wide in a {window} px window");
    Ok(())
}

async fn exercise(visit: &Visit, wav: &Path) -> WebDriverResult<()> {
    let (driver, origin) = (&visit.driver, visit.origin.as_str());
    open_page(visit, "").await?;
    let backend = driver.find(By::Css("[data-testid=backend]")).await?.text().await?;
    println!("page reports: {backend}");
    assert!(backend.contains("WebGPU") || backend.contains("CPU"), "{backend}");

    // A dropped (here: picked) file.
    driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(wav.to_str().unwrap()).await?;
    let top = wait_for(driver, "[data-testid=top]", 300).await?.text().await?;
    println!("03a01Wa.wav: {top}");
    let bars = driver.find_all(By::Css("[data-testid=detail] [data-testid=probabilities] .prob")).await?;
    assert_eq!(bars.len(), 5, "one bar per emotion of the default model");
    wait_for(driver, "[data-testid=fusion] .wbar", 60).await?;
    for canvas in ["mfcc", "attention-forward", "attention-backward"] {
        assert!(canvas_drawn(driver, canvas).await?, "{canvas} is drawn");
    }
    let scales = driver.find_all(By::Css("[data-testid=fusion] .wbar")).await?.len();
    assert_eq!(scales, 8, "one fusion weight per block");

    // The microphone (Chromium's fake device playing the same file) until the live timeline moves.
    driver.find(By::Css("[data-testid=record]")).await?.click().await?;
    driver
        .query(By::Css("[data-testid=live-timeline] polyline"))
        .wait(Duration::from_secs(120), Duration::from_millis(250))
        .first()
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rate = driver.find(By::Css("[data-testid=live-rate]")).await?.text().await?;
    println!("live timeline: {rate}");
    driver.find(By::Css("[data-testid=record]")).await?.click().await?;
    driver
        .query(By::XPath("//li[@data-testid='entry'][contains(., 'Recording 1')]//*[@data-testid='top']"))
        .wait(Duration::from_secs(300), Duration::from_millis(250))
        .first()
        .await?;

    // The paper's EmoDB model, one pick away: the engine restarts with it, and the same file
    // gets its seven emotions.
    let options = driver.find_all(By::Css("[data-testid=model] option")).await?.len();
    assert_eq!(options, timnet::weights::shipped::ALL.len(), "every shipped model is offered");
    driver
        .execute(
            "const s = document.querySelector('[data-testid=model]'); s.value = 'emodb'; \
             s.dispatchEvent(new Event('change'));",
            Vec::new(),
        )
        .await?;
    driver
        .query(By::XPath("//*[@data-testid='weights'][contains(., 'Trained on emodb (7 emotions')]"))
        .wait(Duration::from_secs(300), Duration::from_millis(250))
        .first()
        .await?;
    driver
        .query(By::XPath("//*[@data-testid='status'][starts-with(., 'Ready')]"))
        .wait(Duration::from_secs(300), Duration::from_millis(250))
        .first()
        .await?;
    driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(wav.to_str().unwrap()).await?;
    let paper = driver
        .query(By::XPath("(//li[@data-testid='entry'])[3]//*[@data-testid='top']"))
        .wait(Duration::from_secs(300), Duration::from_millis(250))
        .first()
        .await?;
    println!("03a01Wa.wav with the EmoDB model: {}", paper.text().await?);
    let bars = driver.find_all(By::XPath("(//li[@data-testid='entry'])[3]//*[@class='prob']")).await?;
    assert_eq!(bars.len(), 7, "one bar per emotion of the EmoDB model");

    // Privacy: every request the browser made went to the page's own origin.
    let log = driver.get_log("performance").await?;
    let mut urls = Vec::new();
    for entry in log {
        let message: serde_json::Value = serde_json::from_str(&entry.message).unwrap_or_default();
        if message["message"]["method"] == "Network.requestWillBeSent" {
            urls.push(message["message"]["params"]["request"]["url"].as_str().unwrap_or_default().to_string());
        }
    }
    assert!(!urls.is_empty(), "the performance log recorded the page's own requests");
    let foreign: Vec<&String> =
        urls.iter().filter(|u| !(u.starts_with(origin) || u.starts_with("data:") || u.starts_with("blob:"))).collect();
    println!("requests: {} (all to {origin}: {})", urls.len(), foreign.is_empty());
    assert!(foreign.is_empty(), "requests left the origin: {foreign:?}");
    Ok(())
}
