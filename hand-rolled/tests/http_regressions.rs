//! One test per attack or limit the HTTP codec must refuse, named for what it proves.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use koi_wire::http::{
    parse_request_head, parse_response_head, BodyDecoder, BodyKind, Error, Limits, RequestHead,
};

type Parsed = Result<Option<(RequestHead, usize)>, Error>;

fn parse(bytes: &[u8]) -> Parsed {
    parse_request_head(bytes, &Limits::default())
}

fn head(bytes: &[u8]) -> RequestHead {
    match parse(bytes) {
        Ok(Some((head, n))) => {
            assert_eq!(n, bytes.len(), "head length");
            head
        }
        other => panic!("expected a head, got {other:?}"),
    }
}

fn body_kind(bytes: &[u8]) -> Result<BodyKind, Error> {
    head(bytes).body_kind()
}

fn decode_all(kind: BodyKind, cap: u64, input: &[u8]) -> Result<(Vec<u8>, usize), Error> {
    let mut decoder = BodyDecoder::new(kind, cap)?;
    let mut out = Vec::new();
    let used = decoder.decode(input, &mut out)?;
    Ok((out, used))
}

#[test]
fn request_line_too_long() {
    let max = Limits::default().max_request_line;
    let line = |target_len: usize| {
        let mut b = b"GET /".to_vec();
        b.resize(b.len() + target_len, b'a');
        b.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
        b
    };
    // "GET /" + n + " HTTP/1.1" is 14 + n bytes: the longest allowed line, then one more.
    assert!(parse(&line(max - 14)).is_ok_and(|h| h.is_some()));
    assert_eq!(parse(&line(max - 13)), Err(Error::RequestLineTooLong));
}

#[test]
fn head_too_large() {
    let mut b = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    b.resize(Limits::default().max_head, b'a');
    b.extend_from_slice(b"\r\n\r\n");
    assert_eq!(parse(&b), Err(Error::HeadTooLarge));

    // The closing CRLF landing exactly on the limit is fine.
    let mut b = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    b.resize(Limits::default().max_head - 4, b'a');
    b.extend_from_slice(b"\r\n\r\n");
    assert_eq!(head(&b).header("x-big").map(str::len), Some(b.len() - 27));
}

#[test]
fn too_many_headers() {
    let request = |n: usize| {
        let mut b = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            b.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        b.extend_from_slice(b"\r\n");
        b
    };
    assert_eq!(head(&request(64)).headers.len(), 64);
    assert_eq!(parse(&request(65)), Err(Error::TooManyHeaders));
}

#[test]
fn bare_lf() {
    for bytes in [
        &b"GET / HTTP/1.1\nHost: x\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\n",
        b"\nGET / HTTP/1.1\r\n\r\n",
        b"\r\n\nGET / HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(parse(bytes), Err(Error::BareLf), "{bytes:?}");
    }
    let response = parse_response_head(b"HTTP/1.1 200 OK\nA: b\r\n\r\n", &Limits::default());
    assert_eq!(response, Err(Error::BareLf));
}

#[test]
fn obs_fold() {
    let folded = b"GET / HTTP/1.1\r\nX-A: one\r\n two\r\nHost: x\r\n\r\n";
    assert_eq!(parse(folded), Err(Error::ObsFold));
    let tab = b"GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n";
    assert_eq!(parse(tab), Err(Error::ObsFold));
    let first = b"GET / HTTP/1.1\r\n Host: x\r\n\r\n";
    assert_eq!(parse(first), Err(Error::ObsFold));
}

#[test]
fn whitespace_before_colon() {
    assert_eq!(
        parse(b"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n"),
        Err(Error::BadHeader)
    );
    assert_eq!(
        parse(b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
        Err(Error::BadHeader)
    );
}

#[test]
fn duplicate_content_length() {
    let twice = b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n";
    assert_eq!(body_kind(twice), Err(Error::DuplicateContentLength));
    let list = b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n";
    assert_eq!(body_kind(list), Err(Error::DuplicateContentLength));
    let differ = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
    assert_eq!(body_kind(differ), Err(Error::DuplicateContentLength));
}

#[test]
fn content_length_with_transfer_encoding() {
    let both = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        body_kind(both),
        Err(Error::ContentLengthWithTransferEncoding)
    );
    let reversed = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        body_kind(reversed),
        Err(Error::ContentLengthWithTransferEncoding)
    );
}

#[test]
fn unsupported_transfer_encoding() {
    for te in [
        &b"gzip, chunked"[..],
        b"chunked, chunked",
        b"gzip",
        b"chunkedx",
        b"",
        b"identity",
    ] {
        let mut b = b"POST / HTTP/1.1\r\nTransfer-Encoding: ".to_vec();
        b.extend_from_slice(te);
        b.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            body_kind(&b),
            Err(Error::UnsupportedTransferEncoding),
            "{te:?}"
        );
    }
    let twice =
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(body_kind(twice), Err(Error::UnsupportedTransferEncoding));
    let http10 = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(body_kind(http10), Err(Error::UnsupportedTransferEncoding));
    let upper = b"POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n";
    assert_eq!(body_kind(upper), Ok(BodyKind::Chunked));
}

#[test]
fn negative_content_length() {
    for value in ["-5", "+5", "-0", " -1"] {
        let b = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            body_kind(b.as_bytes()),
            Err(Error::BadContentLength),
            "{value}"
        );
    }
}

#[test]
fn malformed_content_length() {
    for value in ["", "5a", "0x10", "1 000", "1.0", "٣"] {
        let b = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            body_kind(b.as_bytes()),
            Err(Error::BadContentLength),
            "{value}"
        );
    }
}

#[test]
fn overflowing_content_length() {
    let max = b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n";
    assert_eq!(body_kind(max), Ok(BodyKind::Length(u64::MAX)));
    for value in ["18446744073709551616", "99999999999999999999999999"] {
        let b = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(body_kind(b.as_bytes()), Err(Error::BadContentLength));
    }
}

#[test]
fn chunk_size_overflow() {
    let seventeen_digits = b"10000000000000000\r\n";
    assert_eq!(
        decode_all(BodyKind::Chunked, u64::MAX, seventeen_digits),
        Err(Error::ChunkSizeOverflow)
    );
    // Leading zeros are not an overflow, but the size line is bounded.
    let mut zeros = vec![b'0'; 1000];
    zeros.extend_from_slice(b"1\r\nx\r\n0\r\n\r\n");
    assert_eq!(
        decode_all(BodyKind::Chunked, u64::MAX, &zeros),
        Ok((b"x".to_vec(), zeros.len()))
    );
    let mut long = vec![b'0'; 2000];
    long.extend_from_slice(b"1\r\n");
    assert_eq!(
        decode_all(BodyKind::Chunked, u64::MAX, &long),
        Err(Error::BadChunk)
    );
}

#[test]
fn malformed_chunks() {
    for input in [
        &b"-5\r\nhello\r\n0\r\n\r\n"[..],
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\n\n",
        b"5\r\nhello\r\n0\r\nTrailer : x\r\n\r\n",
        b"5\r\nhello\r\n0\r\n folded\r\n\r\n",
        b"5;ext\0\r\nhello\r\n0\r\n\r\n",
    ] {
        let got = decode_all(BodyKind::Chunked, 1 << 20, input);
        assert_eq!(
            got,
            Err(Error::BadChunk),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Extensions (with BWS before `;`) and trailers are read and discarded.
    let ok = b"5 ; name=\"v a l\"\r\nhello\r\n0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\nNEXT";
    assert_eq!(
        decode_all(BodyKind::Chunked, 1 << 20, ok),
        Ok((b"hello".to_vec(), ok.len() - 4))
    );
}

#[test]
fn trailers_are_bounded() {
    let mut many = b"0\r\n".to_vec();
    for i in 0..65 {
        many.extend_from_slice(format!("T{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(
        decode_all(BodyKind::Chunked, 10, &many),
        Err(Error::TooManyHeaders)
    );
    let mut big = b"0\r\nT: ".to_vec();
    big.resize(20_000, b'v');
    assert_eq!(
        decode_all(BodyKind::Chunked, 10, &big),
        Err(Error::HeadTooLarge)
    );
}

#[test]
fn body_past_the_cap() {
    // Length: refused before a byte is read.
    assert!(matches!(
        BodyDecoder::new(BodyKind::Length(11), 10),
        Err(Error::BodyTooLarge)
    ));
    assert_eq!(
        decode_all(BodyKind::Length(10), 10, b"0123456789"),
        Ok((b"0123456789".to_vec(), 10))
    );

    // Chunked: refused on the size line, before the data arrives.
    let mut decoder = BodyDecoder::new(BodyKind::Chunked, 10).unwrap();
    let mut out = Vec::new();
    assert_eq!(decoder.decode(b"b", &mut out), Err(Error::BodyTooLarge));
    assert!(out.is_empty());
    // ... and across chunks: 6 + 5 > 10.
    let input = b"6\r\n012345\r\n5\r\n";
    assert_eq!(
        decode_all(BodyKind::Chunked, 10, input),
        Err(Error::BodyTooLarge)
    );
    assert_eq!(
        decode_all(
            BodyKind::Chunked,
            11,
            b"6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n"
        ),
        Ok((b"0123456789a".to_vec(), 26))
    );
    // The decoder stays failed.
    assert_eq!(decoder.decode(b"\r\n", &mut out), Err(Error::BodyTooLarge));

    // Until close: the cap holds too.
    assert_eq!(
        decode_all(BodyKind::UntilClose, 3, b"abcd"),
        Err(Error::BodyTooLarge)
    );
}

#[test]
fn pipelined_requests() {
    let buf: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
DELETE /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut rest = buf;
    let mut seen = Vec::new();
    while !rest.is_empty() {
        let (head, n) = parse(rest).unwrap().unwrap();
        rest = &rest[n..];
        let mut decoder = BodyDecoder::new(head.body_kind().unwrap(), 1024).unwrap();
        let mut body = Vec::new();
        let used = decoder.decode(rest, &mut body).unwrap();
        assert!(decoder.is_done());
        rest = &rest[used..];
        let keep_alive = head.keep_alive();
        seen.push((head.method, head.target, body, keep_alive));
    }
    let want = [
        ("GET", "/a", &b""[..], true),
        ("POST", "/b", b"hello", true),
        ("PUT", "/c", b"abc", true),
        ("DELETE", "/d", b"", false),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|&(m, t, b, k)| (m.to_owned(), t.to_owned(), b.to_vec(), k))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn incremental_parsing_one_byte_at_a_time() {
    let bytes = b"\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: koi.local\r\nContent-Length: 3\r\n\r\nabc";
    let head_len = bytes.len() - 3;
    for k in 0..head_len {
        assert_eq!(parse(&bytes[..k]), Ok(None), "prefix of {k} bytes");
    }
    let (whole, n) = parse(bytes).unwrap().unwrap();
    assert_eq!(n, head_len);
    for k in head_len..=bytes.len() {
        assert_eq!(parse(&bytes[..k]), Ok(Some((whole.clone(), n))));
    }

    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for k in 0..response.len() {
        let got = parse_response_head(&response[..k], &Limits::default());
        assert_eq!(got, Ok(None), "prefix of {k} bytes");
    }

    // Bodies split at every byte decode the same.
    let chunked = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\n";
    let mut decoder = BodyDecoder::new(BodyKind::Chunked, 100).unwrap();
    let mut out = Vec::new();
    for byte in chunked.chunks(1) {
        assert_eq!(decoder.decode(byte, &mut out), Ok(1));
    }
    assert!(decoder.is_done());
    assert_eq!(out, b"Wikipedia");
}

#[test]
fn early_rejection() {
    let limits = Limits::default();
    // No CRLF after 8 KiB + 2 bytes of request line: refuse without waiting for more.
    let mut line = b"GET /".to_vec();
    line.resize(limits.max_request_line + 1, b'a');
    assert_eq!(parse(&line), Ok(None));
    line.push(b'a');
    assert_eq!(parse(&line), Err(Error::RequestLineTooLong));

    // A full window with no empty line.
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    while head.len() < limits.max_head {
        head.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    }
    assert_eq!(parse(&head), Err(Error::HeadTooLarge));

    // Too many headers, before the head ends.
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..limits.max_headers {
        many.extend_from_slice(b"A: b\r\n");
    }
    assert_eq!(parse(&many), Ok(None));
    many.push(b'A');
    assert_eq!(parse(&many), Err(Error::TooManyHeaders));

    // Not HTTP at all: a TLS ClientHello, an SSH banner, a bad line before its CRLF.
    assert_eq!(parse(&[0x16, 0x03, 0x01]), Err(Error::BadRequestLine));
    assert_eq!(parse(b"GET /\0"), Err(Error::BadRequestLine));
    assert_eq!(parse(b"GET / HTTP/1.1\rX"), Err(Error::BadRequestLine));
    let ssh = parse_response_head(b"SSH-2.0-OpenSSH", &limits);
    assert_eq!(ssh, Err(Error::BadStatusLine));
    // A bad header line is refused as soon as it is complete.
    assert_eq!(
        parse(b"GET / HTTP/1.1\r\nBad Header: x\r\n"),
        Err(Error::BadHeader)
    );
}

#[test]
fn truncated_bodies() {
    let mut length = BodyDecoder::new(BodyKind::Length(5), 10).unwrap();
    let mut out = Vec::new();
    assert_eq!(length.decode(b"abc", &mut out), Ok(3));
    assert_eq!(length.finish_at_eof(), Err(Error::Truncated));

    let mut chunked = BodyDecoder::new(BodyKind::Chunked, 10).unwrap();
    assert_eq!(chunked.decode(b"3\r\nabc\r\n", &mut out), Ok(8));
    assert_eq!(chunked.finish_at_eof(), Err(Error::Truncated));

    let mut until_close = BodyDecoder::new(BodyKind::UntilClose, 10).unwrap();
    assert_eq!(until_close.decode(b"abc", &mut out), Ok(3));
    assert!(!until_close.is_done());
    assert_eq!(until_close.finish_at_eof(), Ok(()));
    assert!(until_close.is_done());
}

#[test]
fn bad_versions_and_request_lines() {
    for (bytes, error) in [
        (&b"GET / HTTP/2.0\r\n\r\n"[..], Error::BadVersion),
        (b"GET / HTTP/1.2\r\n\r\n", Error::BadVersion),
        (b"GET / http/1.1\r\n\r\n", Error::BadVersion),
        (b"GET /\r\n\r\n", Error::BadRequestLine),
        (b"GET  / HTTP/1.1\r\n\r\n", Error::BadRequestLine),
        (b"GET / HTTP/1.1 \r\n\r\n", Error::BadRequestLine),
        (b" GET / HTTP/1.1\r\n\r\n", Error::BadRequestLine),
        (b"GET\t/ HTTP/1.1\r\n\r\n", Error::BadRequestLine),
        (b"G(T / HTTP/1.1\r\n\r\n", Error::BadRequestLine),
        (b"GET /\xff HTTP/1.1\r\n\r\n", Error::BadRequestLine),
        (b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", Error::BadHeader),
        (b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", Error::BadHeader),
        (b"GET / HTTP/1.1\r\n: empty\r\n\r\n", Error::BadHeader),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", Error::BadHeader),
    ] {
        assert_eq!(
            parse(bytes),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn error_status_mapping() {
    let table = [
        (Error::RequestLineTooLong, 431),
        (Error::HeadTooLarge, 431),
        (Error::TooManyHeaders, 431),
        (Error::BareLf, 400),
        (Error::ObsFold, 400),
        (Error::BadRequestLine, 400),
        (Error::BadStatusLine, 400),
        (Error::BadVersion, 400),
        (Error::BadHeader, 400),
        (Error::DuplicateContentLength, 400),
        (Error::ContentLengthWithTransferEncoding, 400),
        (Error::BadContentLength, 400),
        (Error::UnsupportedTransferEncoding, 501),
        (Error::BadChunk, 400),
        (Error::ChunkSizeOverflow, 400),
        (Error::BodyTooLarge, 413),
        (Error::Truncated, 400),
    ];
    for (error, status) in table {
        assert_eq!(error.status(), status, "{error:?}");
        assert!(!error.to_string().is_empty());
    }
}
