//! A small HTTP/1.1 server on 127.0.0.1 for the destination tests: it records every request
//! (body un-gzipped) and answers with what the test's handler says, keeping connections alive.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use flate2::read::GzDecoder;
use siem_ship::Batch;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The body as sent on the wire (compressed when it was).
    pub raw_body: Vec<u8>,
    /// The body, un-gzipped when `Content-Encoding: gzip`.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Read the request and never answer (until the server is dropped).
    Hang,
}

pub fn respond(status: u16, body: impl Into<String>) -> Reply {
    Reply::Respond {
        status,
        headers: Vec::new(),
        body: body.into(),
    }
}

pub fn respond_with(
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: impl Into<String>,
) -> Reply {
    Reply::Respond {
        status,
        headers,
        body: body.into(),
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server; `handler` gets each request and its number (from 0, over all
    /// connections).
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (r, s) = (Arc::clone(&requests), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (r, s, h) = (Arc::clone(&r), Arc::clone(&s), Arc::clone(&handler));
                thread::spawn(move || serve(stream, &r, &s, &*h));
            }
        });
        Server {
            addr,
            requests,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>, stop: &AtomicBool, handler: &Handler) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
        let mut raw_body = vec![0; len];
        if reader.read_exact(&mut raw_body).is_err() {
            return;
        }
        let gzipped = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("content-encoding") && v == "gzip");
        let body = if gzipped {
            let mut out = Vec::new();
            GzDecoder::new(&raw_body[..]).read_to_end(&mut out).unwrap();
            out
        } else {
            raw_body.clone()
        };
        let request = Request {
            method,
            target,
            headers,
            raw_body,
            body,
        };
        let n = {
            let mut all = requests.lock().unwrap();
            all.push(request.clone());
            all.len() - 1
        };
        match handler(&request, n) {
            Reply::Hang => {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                if writer.write_all(out.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

pub fn batch(records: &[&str]) -> Batch {
    let mut b = Batch::default();
    for r in records {
        b.push(r.as_bytes());
    }
    b
}

/// The lines of a dead-letter file as JSON values.
pub fn dead_letters(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The fields of an `application/x-www-form-urlencoded` body, decoded.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The value of `name` in a form.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The token endpoint's book of an OAuth test server: it counts the tokens issued, and the
/// `Bearer` values of those issued with a 200 are the ones the API accepts, until
/// [`expire_all`](Tokens::expire_all).
#[derive(Clone, Default)]
pub struct Tokens {
    issued: Arc<std::sync::atomic::AtomicUsize>,
    valid: Arc<Mutex<Vec<String>>>,
}

impl Tokens {
    /// Answers the `n`-th token request with `answer(n)`, noting the token it hands out.
    pub fn issue(&self, answer: &dyn Fn(usize) -> Reply) -> Reply {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let reply = answer(n);
        if let Reply::Respond {
            status: 200, body, ..
        } = &reply
        {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
                if let Some(t) = v["access_token"].as_str() {
                    self.valid.lock().unwrap().push(format!("Bearer {t}"));
                }
            }
        }
        reply
    }

    /// Whether an `Authorization` header carries a token issued and not expired.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        authorization.is_some_and(|a| self.valid.lock().unwrap().iter().any(|t| t == a))
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// Makes every token issued so far invalid, as an expired one is.
    pub fn expire_all(&self) {
        self.valid.lock().unwrap().clear();
    }
}
