//! Table tests in both directions: real heads as captured from curl, Python's http.server and
//! nginx parse to the expected values and write back byte for byte; written heads parse back.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use koi_wire::http::{
    parse_request_head, parse_response_head, reason_phrase, write_chunk, write_last_chunk,
    write_request_head, write_response_head, BodyDecoder, BodyKind, Error, Header, Limits,
    RequestHead, ResponseHead, Version,
};

/// Header fields as the writers take them.
type Fields = &'static [(&'static str, &'static str)];

fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
    pairs.iter().map(|&(n, v)| Header::new(n, v)).collect()
}

struct RequestCase {
    name: &'static str,
    bytes: &'static [u8],
    head: (&'static str, &'static str, Version, Fields),
    body: BodyKind,
    keep_alive: bool,
}

const REQUESTS: &[RequestCase] = &[
    RequestCase {
        name: "curl 8.5 GET",
        bytes: b"GET /v1/status HTTP/1.1\r\nHost: localhost:5641\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
        head: ("GET", "/v1/status", Version::Http11, &[
            ("Host", "localhost:5641"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "*/*"),
        ]),
        body: BodyKind::Empty,
        keep_alive: true,
    },
    RequestCase {
        name: "curl -d POST",
        bytes: b"POST /v1/certmesh/join HTTP/1.1\r\nHost: 192.168.1.20:5641\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n",
        head: ("POST", "/v1/certmesh/join", Version::Http11, &[
            ("Host", "192.168.1.20:5641"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "*/*"),
            ("Content-Type", "application/json"),
            ("Content-Length", "27"),
        ]),
        body: BodyKind::Length(27),
        keep_alive: true,
    },
    RequestCase {
        name: "curl -T - chunked upload",
        bytes: b"PUT /upload HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        head: ("PUT", "/upload", Version::Http11, &[
            ("Host", "example.com"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "*/*"),
            ("Transfer-Encoding", "chunked"),
            ("Expect", "100-continue"),
        ]),
        body: BodyKind::Chunked,
        keep_alive: true,
    },
    RequestCase {
        name: "Python urllib HTTP/1.1 with close",
        bytes: b"GET /health?probe=1 HTTP/1.1\r\nAccept-Encoding: identity\r\nHost: koi.local\r\nUser-Agent: Python-urllib/3.12\r\nConnection: close\r\n\r\n",
        head: ("GET", "/health?probe=1", Version::Http11, &[
            ("Accept-Encoding", "identity"),
            ("Host", "koi.local"),
            ("User-Agent", "Python-urllib/3.12"),
            ("Connection", "close"),
        ]),
        body: BodyKind::Empty,
        keep_alive: false,
    },
    RequestCase {
        name: "ApacheBench HTTP/1.0 keep-alive",
        bytes: b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 127.0.0.1\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n",
        head: ("GET", "/", Version::Http10, &[
            ("Connection", "Keep-Alive"),
            ("Host", "127.0.0.1"),
            ("User-Agent", "ApacheBench/2.3"),
            ("Accept", "*/*"),
        ]),
        body: BodyKind::Empty,
        keep_alive: true,
    },
    RequestCase {
        name: "HTTP/1.0 without keep-alive",
        bytes: b"OPTIONS * HTTP/1.0\r\n\r\n",
        head: ("OPTIONS", "*", Version::Http10, &[]),
        body: BodyKind::Empty,
        keep_alive: false,
    },
    RequestCase {
        name: "CONNECT in authority form",
        bytes: b"CONNECT koi.local:443 HTTP/1.1\r\nHost: koi.local:443\r\n\r\n",
        head: ("CONNECT", "koi.local:443", Version::Http11, &[("Host", "koi.local:443")]),
        body: BodyKind::Empty,
        keep_alive: true,
    },
];

#[test]
fn real_requests_parse_and_write_back_byte_for_byte() {
    for case in REQUESTS {
        let (head, n) = parse_request_head(case.bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
            .unwrap_or_else(|| panic!("{}: incomplete", case.name));
        let (method, target, version, fields) = case.head;
        let want = RequestHead {
            method: method.into(),
            target: target.into(),
            version,
            headers: headers(fields),
        };
        assert_eq!(head, want, "{}", case.name);
        assert_eq!(n, case.bytes.len(), "{}", case.name);
        assert_eq!(head.body_kind(), Ok(case.body), "{}", case.name);
        assert_eq!(head.keep_alive(), case.keep_alive, "{}", case.name);

        let mut written = Vec::new();
        head.write(&mut written).unwrap();
        assert_eq!(written, case.bytes, "{}", case.name);
        if version == Version::Http11 {
            let mut written = Vec::new();
            write_request_head(&mut written, method, target, fields).unwrap();
            assert_eq!(written, case.bytes, "{}", case.name);
        }
    }
}

struct ResponseCase {
    name: &'static str,
    bytes: &'static [u8],
    head: (Version, u16, &'static str, Fields),
    /// Body kind after a GET.
    body: BodyKind,
    keep_alive: bool,
}

const RESPONSES: &[ResponseCase] = &[
    ResponseCase {
        name: "Python 3.12 http.server file",
        bytes: b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.12.3\r\nDate: Mon, 06 Jan 2025 10:15:42 GMT\r\nContent-type: text/html; charset=utf-8\r\nContent-Length: 812\r\nLast-Modified: Sun, 05 Jan 2025 18:03:11 GMT\r\n\r\n",
        head: (Version::Http10, 200, "OK", &[
            ("Server", "SimpleHTTP/0.6 Python/3.12.3"),
            ("Date", "Mon, 06 Jan 2025 10:15:42 GMT"),
            ("Content-type", "text/html; charset=utf-8"),
            ("Content-Length", "812"),
            ("Last-Modified", "Sun, 05 Jan 2025 18:03:11 GMT"),
        ]),
        body: BodyKind::Length(812),
        keep_alive: false,
    },
    ResponseCase {
        name: "Python 3.12 http.server 404",
        bytes: b"HTTP/1.0 404 File not found\r\nServer: SimpleHTTP/0.6 Python/3.12.3\r\nDate: Mon, 06 Jan 2025 10:15:43 GMT\r\nConnection: close\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 335\r\n\r\n",
        head: (Version::Http10, 404, "File not found", &[
            ("Server", "SimpleHTTP/0.6 Python/3.12.3"),
            ("Date", "Mon, 06 Jan 2025 10:15:43 GMT"),
            ("Connection", "close"),
            ("Content-Type", "text/html;charset=utf-8"),
            ("Content-Length", "335"),
        ]),
        body: BodyKind::Length(335),
        keep_alive: false,
    },
    ResponseCase {
        name: "nginx chunked",
        bytes: b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0 (Ubuntu)\r\nDate: Mon, 06 Jan 2025 10:16:00 GMT\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
        head: (Version::Http11, 200, "OK", &[
            ("Server", "nginx/1.24.0 (Ubuntu)"),
            ("Date", "Mon, 06 Jan 2025 10:16:00 GMT"),
            ("Content-Type", "text/plain"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive"),
        ]),
        body: BodyKind::Chunked,
        keep_alive: true,
    },
    ResponseCase {
        name: "nginx 304",
        bytes: b"HTTP/1.1 304 Not Modified\r\nServer: nginx/1.24.0 (Ubuntu)\r\nETag: \"6779f8b2-32c\"\r\n\r\n",
        head: (Version::Http11, 304, "Not Modified", &[
            ("Server", "nginx/1.24.0 (Ubuntu)"),
            ("ETag", "\"6779f8b2-32c\""),
        ]),
        body: BodyKind::Empty,
        keep_alive: true,
    },
    ResponseCase {
        name: "no framing: read until close",
        bytes: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
        head: (Version::Http11, 200, "OK", &[
            ("Content-Type", "text/plain"),
            ("Connection", "close"),
        ]),
        body: BodyKind::UntilClose,
        keep_alive: false,
    },
    ResponseCase {
        name: "100 Continue",
        bytes: b"HTTP/1.1 100 Continue\r\n\r\n",
        head: (Version::Http11, 100, "Continue", &[]),
        body: BodyKind::Empty,
        keep_alive: true,
    },
    ResponseCase {
        name: "empty reason",
        bytes: b"HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n",
        head: (Version::Http11, 599, "", &[("Content-Length", "0")]),
        body: BodyKind::Length(0),
        keep_alive: true,
    },
];

#[test]
fn real_responses_parse_and_write_back_byte_for_byte() {
    for case in RESPONSES {
        let (head, n) = parse_response_head(case.bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
            .unwrap_or_else(|| panic!("{}: incomplete", case.name));
        let (version, status, reason, fields) = case.head;
        let want = ResponseHead {
            version,
            status,
            reason: reason.into(),
            headers: headers(fields),
        };
        assert_eq!(head, want, "{}", case.name);
        assert_eq!(n, case.bytes.len(), "{}", case.name);
        assert_eq!(head.body_kind("GET"), Ok(case.body), "{}", case.name);
        assert_eq!(head.body_kind("HEAD"), Ok(BodyKind::Empty), "{}", case.name);
        assert_eq!(head.keep_alive(), case.keep_alive, "{}", case.name);

        let mut written = Vec::new();
        head.write(&mut written).unwrap();
        assert_eq!(written, case.bytes, "{}", case.name);
        if version == Version::Http11 && reason == reason_phrase(status) {
            let mut written = Vec::new();
            write_response_head(&mut written, status, fields).unwrap();
            assert_eq!(written, case.bytes, "{}", case.name);
        }
    }
}

#[test]
fn nginx_chunked_response_with_its_body() {
    let bytes = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0 (Ubuntu)\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nMozilla\r\n11\r\nDeveloper Network\r\n0\r\n\r\nHTTP/1.1";
    let (head, n) = parse_response_head(bytes, &Limits::default())
        .unwrap()
        .unwrap();
    let mut decoder = BodyDecoder::new(head.body_kind("GET").unwrap(), 1 << 20).unwrap();
    let mut body = Vec::new();
    let used = decoder.decode(&bytes[n..], &mut body).unwrap();
    assert!(decoder.is_done());
    assert_eq!(body, b"MozillaDeveloper Network");
    assert_eq!(&bytes[n + used..], b"HTTP/1.1");
}

#[test]
fn written_requests_match_the_bytes_and_parse_back() {
    let table: &[(&str, &str, Fields, &[u8])] = &[
        ("GET", "/", &[("Host", "a")], b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            "POST",
            "/v1/x?y=%20z",
            &[("Host", "koi.local:5641"), ("Content-Length", "0"), ("X-Empty", "")],
            b"POST /v1/x?y=%20z HTTP/1.1\r\nHost: koi.local:5641\r\nContent-Length: 0\r\nX-Empty: \r\n\r\n",
        ),
        (
            "M-SEARCH",
            "*",
            &[("X-Utf8", "caf\u{e9}\tand tabs")],
            "M-SEARCH * HTTP/1.1\r\nX-Utf8: caf\u{e9}\tand tabs\r\n\r\n".as_bytes(),
        ),
    ];
    for &(method, target, fields, bytes) in table {
        let mut out = Vec::new();
        write_request_head(&mut out, method, target, fields).unwrap();
        assert_eq!(out, bytes);
        let (head, n) = parse_request_head(&out, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(n, out.len());
        assert_eq!(
            (head.method.as_str(), head.target.as_str()),
            (method, target)
        );
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.headers, headers(fields));
    }
}

#[test]
fn written_responses_match_the_bytes_and_parse_back() {
    let table: &[(u16, Fields, &[u8])] = &[
        (
            200,
            &[("Content-Length", "2")],
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
        ),
        (204, &[], b"HTTP/1.1 204 No Content\r\n\r\n"),
        (
            431,
            &[("Connection", "close")],
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
        ),
        (799, &[], b"HTTP/1.1 799 \r\n\r\n"),
    ];
    for &(status, fields, bytes) in table {
        let mut out = Vec::new();
        write_response_head(&mut out, status, fields).unwrap();
        assert_eq!(out, bytes);
        let (head, n) = parse_response_head(&out, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(n, out.len());
        assert_eq!(
            (head.status, head.reason.as_str()),
            (status, reason_phrase(status))
        );
        assert_eq!(head.headers, headers(fields));
    }
}

#[test]
fn writers_refuse_what_would_not_parse_and_leave_no_output() {
    let ok: Fields = &[("Host", "a")];
    let requests: &[(&str, &str, Fields, Error)] = &[
        ("GET /", "/", ok, Error::BadRequestLine),
        ("", "/", ok, Error::BadRequestLine),
        ("GET", "", ok, Error::BadRequestLine),
        ("GET", "/a b", ok, Error::BadRequestLine),
        ("GET", "/\r\nX: y", ok, Error::BadRequestLine),
        ("GET", "/caf\u{e9}", ok, Error::BadRequestLine),
        ("GET", "/", &[("Bad Name", "v")], Error::BadHeader),
        ("GET", "/", &[("", "v")], Error::BadHeader),
        ("GET", "/", &[("X", "a\r\nInjected: 1")], Error::BadHeader),
        ("GET", "/", &[("X", "a\nb")], Error::BadHeader),
        ("GET", "/", &[("X", "nul\0")], Error::BadHeader),
    ];
    for &(method, target, fields, error) in requests {
        let mut out = b"kept".to_vec();
        assert_eq!(
            write_request_head(&mut out, method, target, fields),
            Err(error)
        );
        assert_eq!(out, b"kept");
    }
    for status in [0, 99, 1000, u16::MAX] {
        let mut out = Vec::new();
        assert_eq!(
            write_response_head(&mut out, status, ok),
            Err(Error::BadStatusLine)
        );
        assert!(out.is_empty());
    }
    let mut out = Vec::new();
    let injected: &[(&str, &str)] = &[("Set-Cookie", "a\r\n\r\n<html>")];
    assert_eq!(
        write_response_head(&mut out, 200, injected),
        Err(Error::BadHeader)
    );
    assert!(out.is_empty());
}

#[test]
fn chunks_written_and_decoded() {
    let table: &[(&[&[u8]], &[u8])] = &[
        (&[], b"0\r\n\r\n"),
        (&[b"hello"], b"5\r\nhello\r\n0\r\n\r\n"),
        (&[b"", b"a"], b"1\r\na\r\n0\r\n\r\n"),
        (&[&[b'x'; 26], b"0123456789abcdef"], b""),
    ];
    for &(pieces, bytes) in table {
        let mut out = Vec::new();
        for piece in pieces {
            write_chunk(&mut out, piece);
        }
        write_last_chunk(&mut out);
        if !bytes.is_empty() {
            assert_eq!(out, bytes);
        }
        let mut decoder = BodyDecoder::new(BodyKind::Chunked, 1 << 10).unwrap();
        let mut body = Vec::new();
        assert_eq!(decoder.decode(&out, &mut body), Ok(out.len()));
        assert!(decoder.is_done());
        assert_eq!(body, pieces.concat());
    }
    let mut out = Vec::new();
    write_chunk(&mut out, &[0; 26]);
    assert!(out.starts_with(b"1a\r\n"));
    let mut out = Vec::new();
    write_chunk(&mut out, &[0; 4096]);
    assert!(out.starts_with(b"1000\r\n"));
}

#[test]
fn leading_empty_lines_are_skipped_before_requests_only() {
    let (head, n) = parse_request_head(b"\r\n\r\nGET / HTTP/1.1\r\n\r\nX", &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!((head.method.as_str(), n), ("GET", 22));
    let response = parse_response_head(b"\r\nHTTP/1.1 200 OK\r\n\r\n", &Limits::default());
    assert_eq!(response, Err(Error::BadStatusLine));
}

#[test]
fn header_lookup_and_values() {
    let bytes = b"GET / HTTP/1.1\r\nhost:  a.b \t\r\nX-Dup: 1\r\nx-dup: 2\r\nConnection: Upgrade, close\r\nX-Latin1: caf\xe9\r\n\r\n";
    let (head, _) = parse_request_head(bytes, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.header("HOST"), Some("a.b"));
    assert_eq!(head.header("X-DUP"), Some("1"));
    assert_eq!(head.header("missing"), None);
    assert_eq!(head.header("x-latin1"), Some("caf\u{fffd}"));
    assert!(!head.keep_alive());
}

#[test]
fn response_body_kinds() {
    let parse = |bytes: &[u8]| {
        parse_response_head(bytes, &Limits::default())
            .unwrap()
            .unwrap()
            .0
    };
    let ok = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    assert_eq!(ok.body_kind("GET"), Ok(BodyKind::Length(10)));
    assert_eq!(ok.body_kind("HEAD"), Ok(BodyKind::Empty));
    assert_eq!(ok.body_kind("CONNECT"), Ok(BodyKind::Empty));
    let no_content = parse(b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
    assert_eq!(no_content.body_kind("GET"), Ok(BodyKind::Empty));
    let smuggled =
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(
        smuggled.body_kind("GET"),
        Err(Error::ContentLengthWithTransferEncoding)
    );
    for (bytes, error) in [
        (&b"HTTP/1.1 20 OK\r\n\r\n"[..], Error::BadStatusLine),
        (b"HTTP/1.1 2000 OK\r\n\r\n", Error::BadStatusLine),
        (b"HTTP/1.1 099 Low\r\n\r\n", Error::BadStatusLine),
        (b"HTTP/1.1  200 OK\r\n\r\n", Error::BadStatusLine),
        (b"HTTP/1.1 200 O\0K\r\n\r\n", Error::BadStatusLine),
        (b"HTTP/2 200 OK\r\n\r\n", Error::BadVersion),
        (b"ICY 200 OK\r\n\r\n", Error::BadStatusLine),
    ] {
        let got = parse_response_head(bytes, &Limits::default());
        assert_eq!(got, Err(error), "{:?}", String::from_utf8_lossy(bytes));
    }
    let bare = parse(b"HTTP/1.1 200\r\n\r\n");
    assert_eq!((bare.status, bare.reason.as_str()), (200, ""));
}
