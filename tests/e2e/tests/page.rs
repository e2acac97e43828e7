//! The built page (dist/) in a real headless Chromium, driven through chromedriver: load it,
//! drop an EmoDB recording, check every drawing, record from a fake microphone until the live
//! timeline moves, and prove that no request left the page's origin; and, in a second visit on
//! a phone-sized window by keyboard alone, refuse the microphone and check the page says so and
//! still takes a file; offline after one visit; an hour-long file with progress; the "Teach it
//! your voice" panel; no long task on the main thread while the engine worker works; and words,
//! not a blank page, when the worker cannot start.
//!
//! Run by scripts/test.sh on the release build that scripts/sizes.sh leaves in
//! target/dist-release (what `./dev serve` serves); `TIMNET_DIST` names another build, e.g. `dist`
//! after a plain `trunk build` (a relative path is taken from the workspace's root).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

/// Every request line's target the server was sent: a path for the page's own files, a whole
/// address (or `host:port`, for CONNECT) for a request to anywhere else, which Chromium sends
/// here as its proxy.
type Requests = Arc<Mutex<Vec<String>>>;

/// Parts of paths the server answers with 404, as if the files were missing.
type Refused = Arc<Mutex<Vec<String>>>;

/// A minimal static file server for dist/ on a free loopback port, which is also the browser's
/// proxy for every other address (answered with a refusal), so that it sees every request the
/// page, its engine worker or its service worker makes. While `offline` is set it drops every
/// connection unanswered, as a network that is down would.
fn serve(dir: PathBuf, offline: Arc<AtomicBool>, requests: Requests, refused: Refused) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if offline.load(Ordering::SeqCst) {
                drop(stream);
                continue;
            }
            let (dir, requests, refused) = (dir.clone(), requests.clone(), refused.clone());
            std::thread::spawn(move || respond(stream, &dir, &requests, &refused));
        }
    });
    port
}

fn respond(mut stream: TcpStream, dir: &Path, requests: &Requests, refused: &Refused) {
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    requests.lock().unwrap().push(target.clone());
    if !target.starts_with('/') {
        let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    let path = target.split('?').next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    let file = dir.join(path.trim_start_matches('/'));
    let refuse = path.contains("..") || refused.lock().unwrap().iter().any(|r| path.contains(r.as_str()));
    let (status, body) = match (refuse, std::fs::read(&file)) {
        (false, Ok(body)) => ("200 OK", body),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("webmanifest") => "application/manifest+json",
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
    /// Set, the page's server answers nothing.
    offline: Arc<AtomicBool>,
    /// What the browser asked of the server, and of anywhere else through it.
    requests: Requests,
    refused: Refused,
    _chromedriver: Process,
}

async fn visit(extra: &[String]) -> WebDriverResult<Visit> {
    // `join` keeps an absolute path as it is.
    let dist = workspace().join(std::env::var_os("TIMNET_DIST").unwrap_or_else(|| "target/dist-release".into()));
    assert!(dist.join("index.html").is_file(), "build the page first: bash scripts/sizes.sh ({})", dist.display());
    let (offline, requests, refused) = (Arc::new(AtomicBool::new(false)), Requests::default(), Refused::default());
    let port = serve(dist, offline.clone(), requests.clone(), refused.clone());
    let origin = format!("http://127.0.0.1:{port}");
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
    // Every address but the loopback goes through the server (a proxy is not asked for those).
    let proxy = format!("--proxy-server=http://127.0.0.1:{port}");
    for arg in CHROMIUM_ARGS.iter().map(|a| a.to_string()).chain([proxy]).chain(extra.iter().cloned()) {
        caps.add_arg(&arg)?;
    }
    caps.set_logging_prefs("performance", LoggingPrefsLogLevel::All)?;
    let driver = WebDriver::new(format!("http://127.0.0.1:{driver_port}"), caps).await?;
    Ok(Visit { driver, origin, offline, requests, refused, _chromedriver: chromedriver })
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

/// Offline: after one visit has saved the page, the server goes silent, and a second visit
/// still loads the page, starts the model, analyses a file, and switches to the EmoDB model,
/// whose record it fetched on the first visit only to keep it.
#[tokio::test(flavor = "multi_thread")]
async fn after_one_visit_the_page_works_with_the_network_off() -> WebDriverResult<()> {
    let visit = visit(&[]).await?;
    let result = async {
        let driver = &visit.driver;
        open_page(&visit, "?cpu").await?;
        // Either outcome is in words; only the first lets the test go on.
        let saved = driver
            .query(By::XPath(
                "//*[@data-testid='offline'][starts-with(., 'Saved') or starts-with(., 'The page could not')]",
            ))
            .wait(Duration::from_secs(120), Duration::from_millis(250))
            .first()
            .await?
            .text()
            .await?;
        println!("first visit: {saved}");
        assert!(saved.contains("works offline"), "{saved}");
        visit.offline.store(true, Ordering::SeqCst);
        // The server is silent from here on: what loads comes from the service worker's cache.
        let gone = server_is_silent(&visit.origin).await;
        assert!(gone, "the server still answers");
        driver.goto(format!("{}/?cpu&model=emodb", visit.origin)).await?;
        driver
            .query(By::XPath("//*[@data-testid='status'][starts-with(., 'Ready')]"))
            .wait(Duration::from_secs(300), Duration::from_millis(500))
            .first()
            .await?;
        // The EmoDB utterance, then 8 s of a steady tone: speech, then none.
        let file = speech_then_tone();
        driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(file.to_str().unwrap()).await?;
        let top = wait_for(driver, "[data-testid=top]", 120).await?.text().await?;
        println!("offline, the EmoDB model on 03a01Wa.wav and 8 s of tone: {top}");
        let bars = driver.find_all(By::Css("[data-testid=entry] .prob")).await?;
        assert_eq!(bars.len(), 7, "the EmoDB model's seven emotions, offline");
        // The tone's windows are shaded on the timeline, not drawn as a confident answer.
        let quiet = wait_for(driver, "[data-testid=timeline] rect.no-speech", 60).await.map(|_| ());
        let shaded = driver.find_all(By::Css("[data-testid=timeline] rect.no-speech")).await?.len();
        let windows = driver.find_all(By::Css("[data-testid=timeline] rect.pick")).await?.len();
        println!("timeline: {shaded} of {windows} windows shaded as without speech");
        quiet?;
        assert!(shaded >= 1 && shaded < windows, "{shaded} of {windows}");
        Ok(())
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// A WAV in a scratch folder: the EmoDB utterance, then 8 s of a 440 Hz tone.
fn speech_then_tone() -> PathBuf {
    let decoded = timnet::audio::decode(&std::fs::read(emodb_angry()).unwrap()).expect("the fixture decodes");
    let rate = decoded.sample_rate;
    let mut mono = timnet::audio::to_mono(&decoded.samples, decoded.channels);
    mono.extend((0..8 * rate as usize).map(|i| 0.3 * (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin()));
    let path = timnet_testkit::scratch("e2e-speech-then-tone").join("speech-then-tone.wav");
    std::fs::write(&path, timnet::audio::encode_wav(&mono, 1, rate)).unwrap();
    path
}

/// Without its engine worker (its script missing) the page says why, in words, instead of
/// waiting for ever or going blank.
#[tokio::test(flavor = "multi_thread")]
async fn without_its_engine_worker_the_page_says_why() -> WebDriverResult<()> {
    let visit = visit(&[]).await?;
    let result = async {
        let driver = &visit.driver;
        visit.refused.lock().unwrap().push("timnet-worker".into());
        driver.goto(format!("{}/?cpu", visit.origin)).await?;
        let status = wait_for_text(driver, "status", "analysis engine failed", 60).await?;
        println!("worker missing: {status}");
        assert!(status.contains("Reload"), "{status}");
        assert!(driver.find(By::Css("[data-testid=record]")).await?.attr("disabled").await?.is_some());
        Ok(())
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// One hour of speech: the page analyses it to the end, shows how far it has gone on the way,
/// and the engine worker's WebAssembly memory stays far inside wasm's 4 GiB: the file's bytes (58 MB), the hour
/// at 22,050 Hz kept for the drawings (318 MB), the decoded hour at 8 kHz while it is
/// prepared in stretches (115 MB), and a few windows at a time besides.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_hour_file_is_analysed_with_progress_in_bounded_memory() -> WebDriverResult<()> {
    let file = one_hour_of_speech();
    let visit = visit(&[]).await?;
    let result = async {
        let driver = &visit.driver;
        open_page(&visit, "?cpu").await?;
        let started = std::time::Instant::now();
        driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(file.to_str().unwrap()).await?;
        let mut seen: Vec<String> = Vec::new();
        let top = loop {
            if let Ok(top) = driver.find(By::Css("[data-testid=top]")).await {
                break top.text().await?;
            }
            if let Ok(progress) = driver.find(By::Css("[data-testid=progress]")).await
                && let Ok(text) = progress.text().await
                && seen.last() != Some(&text)
            {
                seen.push(text);
            }
            assert!(started.elapsed() < Duration::from_secs(1200), "no answer after 20 min; progress seen: {seen:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let seconds = started.elapsed().as_secs();
        // The engine worker's wasm memory when it finished (it only grows, so this is its peak),
        // which the page keeps on the entry.
        let memory: f64 = driver
            .find(By::Css("[data-testid=entry]"))
            .await?
            .attr("data-engine-memory")
            .await?
            .and_then(|m| m.parse().ok())
            .unwrap_or(0.0);
        let windows = driver.find_all(By::Css("[data-testid=timeline] rect.pick")).await?.len();
        println!(
            "one hour at 8 kHz: {top} in {seconds} s, {windows} windows; progress shown {} times ({:?} … {:?}); wasm memory {:.0} MiB",
            seen.len(),
            seen.first(),
            seen.last(),
            memory / 1_048_576.0
        );
        assert!(seen.len() >= 3, "the page showed its progress on the way: {seen:?}");
        assert!(seen.iter().any(|s| s.ends_with("of 1:00:00")), "{seen:?}");
        assert!(windows > 2_000, "every window of the hour is on the timeline: {windows}");
        assert!(memory > 0.0, "the engine's wasm memory was reported");
        // Measured at 530 MiB (423 MiB when the file was prepared in one call, without its
        // decoded samples held); growing the hour's samples by doubling made it 1,145 MiB.
        assert!(memory < 640.0 * 1_048_576.0, "wasm memory {:.0} MiB", memory / 1_048_576.0);
        Ok(())
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// A WAV in a scratch folder: the EmoDB utterance at 8 kHz, again and again with half a second
/// between, for an hour (57.6 MB).
fn one_hour_of_speech() -> PathBuf {
    let decoded = timnet::audio::decode(&std::fs::read(emodb_angry()).unwrap()).expect("the fixture decodes");
    let mono = timnet::audio::to_mono(&decoded.samples, decoded.channels);
    let mut utterance = timnet::audio::resample(&mono, decoded.sample_rate, 8_000);
    utterance.extend(std::iter::repeat_n(0.0, 4_000));
    let hour: Vec<f32> = utterance.iter().copied().cycle().take(3_600 * 8_000).collect();
    let path = timnet_testkit::scratch("e2e-one-hour").join("one-hour.wav");
    std::fs::write(&path, timnet::audio::encode_wav(&hour, 1, 8_000)).unwrap();
    path
}

/// The engine worker's two builds, as the page names them, and the query that picks each (the
/// SIMD one is the page's own choice in a browser with SIMD).
const BUILDS: [(&str, &str); 2] = [("SIMD", ""), ("scalar", "&scalar")];

/// The browser benchmark: a 4.35 s recording from 16 kHz through each build of the engine worker
/// on the CPU, stage by stage, and one clip of the default model, side by side in one run
/// (printed beside the tests, with the target).
/// The builds take turns, three visits each, so that neither always runs first.
#[tokio::test(flavor = "multi_thread")]
async fn the_browser_benchmark_times_both_builds_side_by_side() -> WebDriverResult<()> {
    let visit = visit(&[]).await?;
    let result = async {
        // Per build, one row a visit: the 4.35 s recording's total, resampling, MFCC and network;
        // the model's clip length and one clip's total; a live update's features and speech
        // check, and the same clip's computed whole.
        let mut stages: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..3 {
            for (b, (build, query)) in BUILDS.iter().enumerate() {
                open_page(&visit, &format!("?cpu&bench{query}")).await?;
                let line = wait_for_text(&visit.driver, "bench", "ms (", 120).await?;
                println!("bench: {line}");
                assert!(line.contains(&format!("{build} build")), "{line}");
                // "… build: a 4.35 s recording 20.6 ms (resampling 4.6, MFCC 4.4, network 11.6); one
                // 3.00 s clip of this model 11.2 ms. A live update's features and speech check: 0.24 ms,
                // against 2.04 ms …"
                let numbers: Vec<f64> = line
                    .split("build:")
                    .nth(1)
                    .unwrap_or_default()
                    .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .filter_map(|n| n.trim_end_matches('.').parse().ok())
                    .skip(1)
                    .collect();
                assert_eq!(numbers.len(), 8, "a recording's four, a clip's two and a live update's two in {line}");
                stages[b].push(numbers);
            }
        }
        let median = |b: usize, i: usize| {
            let mut values: Vec<f64> = stages[b].iter().map(|row| row[i]).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let ratio = |i: usize| median(0, i) / median(1, i);
        println!(
            "bench: medians of three visits each: a 4.35 s recording, SIMD {:.1} ms, scalar {:.1} ms; SIMD / scalar {:.2} in all (resampling {:.2}, MFCC {:.2}, network {:.2})",
            median(0, 0),
            median(1, 0),
            ratio(0),
            ratio(1),
            ratio(2),
            ratio(3),
        );
        println!(
            "bench: one {:.2} s clip of the model: SIMD {:.1} ms, scalar {:.1} ms; SIMD / scalar {:.2} (target: at most 15 ms with SIMD)",
            median(0, 4),
            median(0, 5),
            median(1, 5),
            ratio(5),
        );
        for (b, (build, _)) in BUILDS.iter().enumerate() {
            println!(
                "bench: {build} build, a live update's features and speech check {:.2} ms against {:.2} ms for the clip computed whole: {:.2} of it",
                median(b, 6),
                median(b, 7),
                median(b, 6) / median(b, 7)
            );
        }
        Ok(())
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// The main thread's long tasks (the Long Tasks API: any task over 50 ms) while the page
/// analyses a 20 s file and while it records 10 s from the microphone, on the CPU backend,
/// after the page says it is ready: there are none, since the engine worker does the work, with
/// either of its builds. Printed beside the tests, with the live update rate.
#[tokio::test(flavor = "multi_thread")]
async fn the_main_thread_never_blocks_during_a_file_or_a_recording() -> WebDriverResult<()> {
    let file = twenty_seconds_of_speech();
    let visit = visit(&[
        "--use-fake-ui-for-media-stream".into(),
        format!("--use-file-for-fake-audio-capture={}", emodb_angry().display()),
    ])
    .await?;
    let result = async {
        let driver = &visit.driver;
        let observe = "window.__longTasks = []; \
             new PerformanceObserver((list) => { for (const e of list.getEntries()) \
               window.__longTasks.push([e.startTime, e.duration]); }).observe({ type: 'longtask', buffered: true });";
        driver.cdp().send_raw("Page.addScriptToEvaluateOnNewDocument", serde_json::json!({ "source": observe })).await?;
        let mut found = Vec::new();
        for (build, query) in BUILDS {
            open_page(&visit, &format!("?cpu{query}")).await?;
            let backend = driver.find(By::Css("[data-testid=backend]")).await?.text().await?;
            assert!(backend.contains(&format!("the {build} build")), "{backend}");

            let since = now(driver).await?;
            driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(file.to_str().unwrap()).await?;
            wait_for(driver, "[data-testid=top]", 300).await?;
            let file_tasks = long_tasks_since(driver, since).await?;

            let since = now(driver).await?;
            driver.find(By::Css("[data-testid=record]")).await?.click().await?;
            tokio::time::sleep(Duration::from_secs(10)).await;
            let rate = driver.find(By::Css("[data-testid=live-rate]")).await?.text().await?;
            let live_tasks = long_tasks_since(driver, since).await?;
            driver.find(By::Css("[data-testid=record]")).await?.click().await?;

            for (what, tasks) in [("analysing a 20 s file", &file_tasks), ("10 s of live recording", &live_tasks)] {
                let longest = tasks.iter().copied().fold(0.0, f64::max);
                println!(
                    "long tasks: main thread while {what} (CPU, {build} build): {} over 50 ms, longest {longest:.0} ms, {:.0} ms in all (target: none)",
                    tasks.len(),
                    tasks.iter().fold(0.0, |all, t| all + t)
                );
            }
            println!("long tasks: live updates during the recording ({build} build): {rate} (target: at least 20)");
            assert!(!rate.starts_with("0.0"), "the live view was updated: {rate}");
            found.push((build, file_tasks, live_tasks));
        }
        // The observer sees a task of 120 ms made on purpose, so that none above means none.
        let since = now(driver).await?;
        let busy = "setTimeout(() => { const t = performance.now(); while (performance.now() - t < 120) {} }, 0);";
        driver.execute(busy, Vec::new()).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let made = long_tasks_since(driver, since).await?;
        assert!(made.iter().any(|&d| d >= 100.0), "the Long Tasks API missed a 120 ms task: {made:?}");
        for (build, file_tasks, live_tasks) in found {
            assert!(file_tasks.is_empty(), "{build} build: long tasks while analysing a file: {file_tasks:?}");
            assert!(live_tasks.is_empty(), "{build} build: long tasks while recording: {live_tasks:?}");
        }
        Ok(())
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// The page's clock, in ms.
async fn now(driver: &WebDriver) -> WebDriverResult<f64> {
    driver.execute("return performance.now();", Vec::new()).await?.convert()
}

/// The durations (ms) of the long tasks that started after `since`.
async fn long_tasks_since(driver: &WebDriver, since: f64) -> WebDriverResult<Vec<f64>> {
    let tasks: Vec<(f64, f64)> = driver.execute("return window.__longTasks;", Vec::new()).await?.convert()?;
    Ok(tasks.into_iter().filter(|(start, _)| *start >= since).map(|(_, duration)| duration).collect())
}

/// A WAV in a scratch folder: the EmoDB utterance, again and again, for 20 s.
fn twenty_seconds_of_speech() -> PathBuf {
    let decoded = timnet::audio::decode(&std::fs::read(emodb_angry()).unwrap()).expect("the fixture decodes");
    let rate = decoded.sample_rate;
    let mono = timnet::audio::to_mono(&decoded.samples, decoded.channels);
    let twenty: Vec<f32> = mono.iter().copied().cycle().take(20 * rate as usize).collect();
    let path = timnet_testkit::scratch("e2e-twenty-seconds").join("twenty-seconds.wav");
    std::fs::write(&path, timnet::audio::encode_wav(&twenty, 1, rate)).unwrap();
    path
}

/// True when nothing answers at `origin`.
async fn server_is_silent(origin: &str) -> bool {
    let origin = origin.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let Ok(mut stream) = TcpStream::connect(&origin) else { return true };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).map_or(true, |n| n == 0)
    })
    .await
    .unwrap_or(false)
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
    let driver = &visit.driver;
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

    // The page embeds only the default model; the EmoDB record came from the page's own
    // origin when it was picked.
    let urls = assert_private(visit).await?;
    let served = timnet::weights::shipped::served_record_path(&timnet::weights::shipped::EMODB);
    assert!(urls.iter().any(|u| u.ends_with(&served)), "the EmoDB record was fetched from {served}: {urls:?}");
    a_foreign_request_would_be_seen(visit).await
}

/// Hosts headless Chromium asks by itself (its clock, component updates, accounts), whatever
/// the page does: the server sees them as the browser's proxy, but they are not the page's.
const CHROMIUM_OWN: [&str; 3] = [".google.com", ".googleapis.com", ".gstatic.com"];

/// Privacy: every request the browser made went to the page's own origin. Returns them. Two
/// views: the page's own requests, by the browser's performance log (any host), and what the
/// server saw, which adds the engine worker's and the service worker's (any host but those
/// Chromium asks by itself).
async fn assert_private(visit: &Visit) -> WebDriverResult<Vec<String>> {
    let mut from_page = Vec::new();
    for entry in visit.driver.get_log("performance").await? {
        let message: serde_json::Value = serde_json::from_str(&entry.message).unwrap_or_default();
        if message["message"]["method"] == "Network.requestWillBeSent" {
            from_page.push(message["message"]["params"]["request"]["url"].as_str().unwrap_or_default().to_string());
        }
    }
    assert!(!from_page.is_empty(), "the performance log recorded the page's own requests");
    let origin = visit.origin.as_str();
    let foreign: Vec<&String> = from_page
        .iter()
        .filter(|u| !(u.starts_with(origin) || u.starts_with("data:") || u.starts_with("blob:")))
        .collect();
    assert!(foreign.is_empty(), "the page's requests left the origin: {foreign:?}");

    let served = visit.requests.lock().unwrap().clone();
    let host = |target: &str| {
        let rest = target.split("://").last().unwrap_or(target);
        rest.split(['/', ':']).next().unwrap_or(rest).to_string()
    };
    let elsewhere: Vec<&String> = served
        .iter()
        .filter(|r| !r.starts_with('/') && !CHROMIUM_OWN.iter().any(|own| format!(".{}", host(r)).ends_with(own)))
        .collect();
    println!(
        "requests: {} from the page, {} served in all (all to {origin}: {})",
        from_page.len(),
        served.iter().filter(|r| r.starts_with('/')).count(),
        elsewhere.is_empty()
    );
    assert!(elsewhere.is_empty(), "requests left the origin: {elsewhere:?}");
    Ok(served.iter().filter(|r| r.starts_with('/')).map(|path| format!("{origin}{path}")).collect())
}

/// The server's view above can fail: a request to another address reaches it as a proxy
/// request.
async fn a_foreign_request_would_be_seen(visit: &Visit) -> WebDriverResult<()> {
    let script = "fetch('http://example.invalid/privacy-check').catch(() => {});";
    visit.driver.execute(script, Vec::new()).await?;
    for _ in 0..40 {
        if visit.requests.lock().unwrap().iter().any(|r| r.contains("example.invalid")) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("a request to another address was not seen: {:?}", visit.requests.lock().unwrap());
}

/// The text of `testid` once it contains `wanted`.
async fn wait_for_text(driver: &WebDriver, testid: &str, wanted: &str, seconds: u64) -> WebDriverResult<String> {
    let xpath = format!("//*[@data-testid='{testid}'][contains(., \"{wanted}\")]");
    let element =
        driver.query(By::XPath(&xpath)).wait(Duration::from_secs(seconds), Duration::from_millis(250)).first().await?;
    element.text().await
}

/// The adapted model the page keeps in its storage, as the two files of `timnet adapt`.
async fn stored_voice(driver: &WebDriver, dir: &Path) -> WebDriverResult<()> {
    let (json, record): (String, String) = driver
        .execute(
            "return [localStorage.getItem('timnet.voice.model.json'), localStorage.getItem('timnet.voice.model.bpk')];",
            Vec::new(),
        )
        .await?
        .convert()?;
    use base64::Engine as _;
    let record = base64::engine::general_purpose::STANDARD.decode(record).expect("the stored record is base64");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("model.json"), json).unwrap();
    std::fs::write(dir.join("model.bpk"), record).unwrap();
    Ok(())
}

/// Give the voice panel each emotion's two takes, as chosen files, and wait until it counts them.
async fn choose_takes(driver: &WebDriver, takes: &[(String, PathBuf)]) -> WebDriverResult<()> {
    for emotion in ["angry", "fear", "happy", "neutral", "sad"] {
        let files: Vec<&str> = takes.iter().filter(|(e, _)| e == emotion).map(|(_, f)| f.to_str().unwrap()).collect();
        let input = driver.find(By::Css(format!("[data-testid=take-input-{emotion}]"))).await?;
        input.send_keys(files.join("\n")).await?;
        wait_for_text(driver, &format!("count-{emotion}"), "2 takes", 120).await?;
    }
    Ok(())
}

/// The per-speaker model (`mix-voice`): untaught, it says so; taught two takes of each emotion
/// in the page, it learns the voice's statistics and the fit there, and answers as the same
/// model adapted by `timnet adapt` on the same takes does natively.
#[tokio::test(flavor = "multi_thread")]
async fn a_per_speaker_model_learns_the_voice_in_the_page_as_natively() -> WebDriverResult<()> {
    let scratch = workspace().join("target/e2e/voice-per-speaker");
    let _ = std::fs::remove_dir_all(&scratch);
    let takes = timnet_testkit::voice_takes(&scratch.join("takes"), 2);
    let visit = visit(&[]).await?;
    let result = async {
        let driver = &visit.driver;
        open_page(&visit, "?cpu&model=mix-voice").await?;
        wait_for_text(driver, "weights", "teach it your voice", 60).await?;
        choose_takes(driver, &takes).await?;
        driver.find(By::Css("[data-testid=adapt]")).await?.click().await?;
        let outcome = wait_for_text(driver, "adapt-outcome", "% after", 120).await?;
        println!("adapted: {outcome}");
        wait_for_text(driver, "weights", "Adapted to your voice (10 takes)", 60).await?;
        driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(takes[4].1.to_str().unwrap()).await?;
        let in_page = wait_for(driver, "[data-testid=top]", 120).await?.text().await?;

        // The same model adapted natively on the same takes, by `timnet adapt`'s own code.
        let device = timnet::burn::prelude::Device::flex();
        let base = timnet::weights::shipped::named("mix-voice").expect("the per-speaker model is shipped");
        let base = timnet::weights::Weights::from_shipped(base, &device).unwrap();
        let native = scratch.join("native");
        timnet_cli::adapt::adapt(&mut Vec::new(), base, &scratch.join("takes"), &native, &Default::default())
            .expect("timnet adapt");
        let adapted = timnet::weights::Weights::load(&native, &device).unwrap();
        assert!(adapted.sidecar.voice.is_some(), "timnet adapt taught the voice");
        let analyzer = timnet::analysis::Analyzer::new(adapted, device);
        let prepared = timnet::audio::prepare(&std::fs::read(&takes[4].1).unwrap()).unwrap();
        let answer = timnet::analysis::block_on(analyzer.analyse(&prepared)).unwrap();
        let (label, p) = answer.top();
        println!("mix-voice adapted on a happy take: {in_page} in the page, {label} {:.1}% natively", 100.0 * p);
        assert_eq!(in_page, format!("{label} {:.0}%", 100.0 * p));
        assert_private(&visit).await.map(drop)
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}

/// Teach it your voice: takes chosen for every emotion and one recorded from the (fake)
/// microphone; adapted, with the accuracy before and after; kept across a reload; read by the
/// CLI's loader; switched off and reset; and a model adapted by `timnet adapt` imported. No
/// request leaves the page meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_learns_a_voice_keeps_it_and_reads_the_clis_files() -> WebDriverResult<()> {
    let scratch = workspace().join("target/e2e/voice");
    let _ = std::fs::remove_dir_all(&scratch);
    let takes = timnet_testkit::voice_takes(&scratch.join("takes"), 2);
    let wav = emodb_angry();
    let visit = visit(&[
        "--use-fake-ui-for-media-stream".into(),
        format!("--use-file-for-fake-audio-capture={}", wav.display()),
    ])
    .await?;
    let result = async {
        let driver = &visit.driver;
        open_page(&visit, "?cpu").await?;
        choose_takes(driver, &takes).await?;
        // One take from the microphone.
        let record = driver.find(By::Css("[data-testid=take-record-angry]")).await?;
        record.click().await?;
        wait_for_text(driver, "take-record-angry", "Stop", 60).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        record.click().await?;
        wait_for_text(driver, "count-angry", "3 takes", 120).await?;
        driver.find(By::Css("[data-testid=adapt]")).await?.click().await?;
        let outcome = wait_for_text(driver, "adapt-outcome", "% after", 120).await?;
        println!("adapted: {outcome}");
        wait_for_text(driver, "weights", "Adapted to your voice (11 takes)", 60).await?;
        // A take analysed by the adapted model gets its own emotion.
        driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(takes[4].1.to_str().unwrap()).await?;
        let top = wait_for(driver, "[data-testid=top]", 120).await?.text().await?;
        println!("{} (a happy take) with the adapted model: {top}", takes[4].1.display());
        assert!(top.starts_with("happy"), "{top}");

        // Kept across a reload, in the files `timnet adapt` writes.
        open_page(&visit, "?cpu").await?;
        wait_for_text(driver, "weights", "Adapted to your voice (11 takes)", 60).await?;
        let stored = scratch.join("from-page");
        stored_voice(driver, &stored).await?;
        let loaded = timnet::weights::Weights::load(&stored, &timnet::burn::prelude::Device::flex())
            .expect("the CLI's loader reads what the page keeps");
        let takes_of = loaded.sidecar.personalised.expect("the sidecar says it is personalised").takes;
        assert_eq!(takes_of.values().sum::<usize>(), 11, "{takes_of:?}");

        // Off, then reset.
        driver.find(By::Css("[data-testid=personal-on]")).await?.click().await?;
        wait_for_text(driver, "weights", "Trained on", 60).await?;
        wait_for_text(driver, "personal-state", "switched off", 60).await?;
        driver.find(By::Css("[data-testid=personal-reset]")).await?.click().await?;
        open_page(&visit, "?cpu").await?;
        wait_for_text(driver, "weights", "Trained on", 60).await?;
        let state = driver.find(By::Css("[data-testid=personal-state]")).await?.text().await?;
        assert!(state.is_empty(), "after a reset nothing is kept: {state:?}");

        // A model adapted by `timnet adapt` (its own code, run here) is imported.
        let from_cli = scratch.join("from-cli");
        let base = timnet::weights::Weights::from_shipped(
            timnet::weights::shipped::DEFAULT,
            &timnet::burn::prelude::Device::flex(),
        )
        .unwrap();
        timnet_cli::adapt::adapt(&mut Vec::new(), base, &scratch.join("takes"), &from_cli, &Default::default())
            .expect("timnet adapt");
        let files = [from_cli.join("model.json"), from_cli.join("model.bpk")];
        let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
        driver.find(By::Css("[data-testid=personal-import]")).await?.send_keys(paths.join("\n")).await?;
        if let Err(e) = wait_for_text(driver, "weights", "Adapted to your voice (10 takes)", 60).await {
            let said = match driver.find(By::Css("[data-testid=teach-error]")).await {
                Ok(error) => error.text().await?,
                Err(_) => "no message".into(),
            };
            panic!("the imported model does not run ({said}): {e}");
        }
        // It answers in the page as it does natively.
        driver.find(By::Css("[data-testid=file-input]")).await?.send_keys(takes[4].1.to_str().unwrap()).await?;
        let in_page = wait_for(driver, "[data-testid=top]", 120).await?.text().await?;
        let analyzer = timnet::analysis::Analyzer::new(
            timnet::weights::Weights::load(&from_cli, &timnet::burn::prelude::Device::flex()).unwrap(),
            timnet::burn::prelude::Device::flex(),
        );
        let prepared = timnet::audio::prepare(&std::fs::read(&takes[4].1).unwrap()).unwrap();
        let native = timnet::analysis::block_on(analyzer.analyse(&prepared)).unwrap();
        let (label, p) = native.top();
        println!("the CLI's adapted model on a happy take: {in_page} in the page, {label} {:.1}% natively", 100.0 * p);
        assert_eq!(in_page, format!("{label} {:.0}%", 100.0 * p));
        // The wrong files get words, not a silent failure.
        driver.find(By::Css("[data-testid=personal-import]")).await?.send_keys(paths[0]).await?;
        let error = wait_for(driver, "[data-testid=teach-error]", 60).await?.text().await?;
        assert!(error.contains("both files"), "{error}");
        assert_fits_the_width(driver, "the page with the voice panel").await?;
        save_screenshot(driver, "page-voice.png").await;
        assert_private(&visit).await.map(drop)
    }
    .await;
    visit.driver.clone().quit().await?;
    result
}
