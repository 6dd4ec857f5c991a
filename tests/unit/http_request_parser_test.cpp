// HttpRequestParser: requests out of a byte stream, in whatever pieces they arrive, with
// recado's limits and the framing errors that must close a connection.
#include "src/http_request_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace recado {
namespace {

using Status = HttpRequestParser::Status;

// Feeds `bytes` in one call and expects it all consumed.
Status feed_all(HttpRequestParser& parser, std::string_view bytes) {
  size_t consumed = 0;
  const Status s = parser.feed(bytes.data(), bytes.size(), consumed);
  if (s != Status::error) {
    EXPECT_EQ(consumed, bytes.size());
  }
  return s;
}

// Parses `bytes` as one whole request and returns it; fails the test otherwise.
HttpRequest parse_one(std::string_view bytes, const HttpLimits& limits = {}) {
  HttpRequestParser parser(limits);
  const Status s = feed_all(parser, bytes);
  EXPECT_EQ(s, Status::request) << parser.error_status() << " " << parser.error_reason();
  return parser.take();
}

// The status of the error `bytes` runs into (fed in one piece), or 0.
int error_of(std::string_view bytes, const HttpLimits& limits = {}) {
  HttpRequestParser parser(limits);
  size_t consumed = 0;
  if (parser.feed(bytes.data(), bytes.size(), consumed) != Status::error) return 0;
  EXPECT_FALSE(parser.error_reason().empty());
  return parser.error_status();
}

// --- requests that parse ---------------------------------------------------------------

TEST(HttpRequestParser, SimpleGet) {
  const HttpRequest r = parse_one("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/healthz");
  EXPECT_EQ(r.query, "");
  EXPECT_EQ(r.body, "");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.header("host"), "localhost");
}

TEST(HttpRequestParser, PostWithBody) {
  const HttpRequest r = parse_one(
      "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 13\r\n\r\n{\"kind\":\"a\"}\n");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/jobs");
  EXPECT_EQ(r.body, "{\"kind\":\"a\"}\n");
  EXPECT_EQ(r.header("content-type"), "application/json");
}

TEST(HttpRequestParser, HeaderNamesAreLowerCasedAndValuesKept) {
  const HttpRequest r =
      parse_one("GET / HTTP/1.1\r\nX-Hub-Signature-256: sha256=ABCdef\r\nAPIKEY: MiXeD\r\n\r\n");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].first, "x-hub-signature-256");
  EXPECT_EQ(r.headers[1].first, "apikey");
  EXPECT_EQ(r.header("x-hub-signature-256"), "sha256=ABCdef");
  EXPECT_EQ(r.header("apikey"), "MiXeD");
  EXPECT_EQ(r.header("X-Hub-Signature-256"), "");  // lookups are by the lower-case name
  EXPECT_EQ(r.header("absent"), "");
}

TEST(HttpRequestParser, HeaderReturnsTheFirstOfRepeatedNames) {
  const HttpRequest r = parse_one("GET / HTTP/1.1\r\nX-A: one\r\nX-A: two\r\n\r\n");
  EXPECT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.header("x-a"), "one");
}

TEST(HttpRequestParser, QueryIsSplitFromThePath) {
  const HttpRequest r = parse_one(
      "GET /webhooks/clinic1/cloudapi?hub.mode=subscribe&hub.challenge=42 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.path, "/webhooks/clinic1/cloudapi");
  EXPECT_EQ(r.query, "hub.mode=subscribe&hub.challenge=42");
  // Only the first '?' splits; the query stays undecoded.
  const HttpRequest r2 = parse_one("GET /a?b=%20c?d HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r2.path, "/a");
  EXPECT_EQ(r2.query, "b=%20c?d");
}

TEST(HttpRequestParser, RequestFedOneByteAtATime) {
  const std::string bytes =
      "POST /webhooks/clinic1/evolution HTTP/1.1\r\nHost: x\r\nX-Recado-Token: tok\r\n"
      "Content-Length: 11\r\n\r\nhello world";
  HttpRequestParser parser(HttpLimits{});
  for (size_t i = 0; i < bytes.size(); ++i) {
    size_t consumed = 0;
    const Status s = parser.feed(bytes.data() + i, 1, consumed);
    EXPECT_EQ(consumed, 1u) << "at byte " << i;
    if (i + 1 < bytes.size()) {
      ASSERT_EQ(s, Status::need_more) << "at byte " << i;
      EXPECT_TRUE(parser.mid_request()) << "at byte " << i;
    } else {
      ASSERT_EQ(s, Status::request);
    }
  }
  const HttpRequest r = parser.take();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/webhooks/clinic1/evolution");
  EXPECT_EQ(r.header("x-recado-token"), "tok");
  EXPECT_EQ(r.header("host"), "x");
  EXPECT_EQ(r.body, "hello world");
  EXPECT_FALSE(parser.mid_request());
}

TEST(HttpRequestParser, PipelinedRequestsComeOneAtATime) {
  const std::string first = "POST /one HTTP/1.1\r\nX-N: 1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string second = "GET /two?x=1 HTTP/1.1\r\nX-N: 2\r\n\r\n";
  const std::string bytes = first + second;
  HttpRequestParser parser(HttpLimits{});

  size_t consumed = 0;
  ASSERT_EQ(parser.feed(bytes.data(), bytes.size(), consumed), Status::request);
  EXPECT_EQ(consumed, first.size());  // stopped after the first request
  EXPECT_LT(consumed, bytes.size());
  HttpRequest r1 = parser.take();
  EXPECT_EQ(r1.path, "/one");
  EXPECT_EQ(r1.body, "abc");
  ASSERT_EQ(r1.headers.size(), 2u);
  EXPECT_EQ(r1.header("x-n"), "1");

  const size_t offset = consumed;
  ASSERT_EQ(parser.feed(bytes.data() + offset, bytes.size() - offset, consumed), Status::request);
  EXPECT_EQ(offset + consumed, bytes.size());
  HttpRequest r2 = parser.take();
  EXPECT_EQ(r2.method, "GET");
  EXPECT_EQ(r2.path, "/two");
  EXPECT_EQ(r2.query, "x=1");
  EXPECT_EQ(r2.body, "");
  ASSERT_EQ(r2.headers.size(), 1u);  // nothing left over from the first
  EXPECT_EQ(r2.header("x-n"), "2");
}

TEST(HttpRequestParser, ChunkedBody) {
  const HttpRequest r = parse_one(
      "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
  EXPECT_EQ(r.body, "hello, world");
}

TEST(HttpRequestParser, ChunkedBodySplitAcrossFeeds) {
  HttpRequestParser parser(HttpLimits{});
  EXPECT_EQ(feed_all(parser, "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"),
            Status::need_more);
  EXPECT_EQ(feed_all(parser, "c\r\nA\r\n0123456789\r\n"), Status::need_more);
  EXPECT_EQ(feed_all(parser, "0\r\n\r\n"), Status::request);
  EXPECT_EQ(parser.take().body, "abc0123456789");
}

TEST(HttpRequestParser, KeepAliveByVersionAndConnectionHeader) {
  {
    HttpRequestParser parser(HttpLimits{});
    ASSERT_EQ(feed_all(parser, "GET / HTTP/1.1\r\n\r\n"), Status::request);
    EXPECT_TRUE(parser.keep_alive());
  }
  {
    HttpRequestParser parser(HttpLimits{});
    ASSERT_EQ(feed_all(parser, "GET / HTTP/1.0\r\n\r\n"), Status::request);
    EXPECT_FALSE(parser.keep_alive());
  }
  {
    HttpRequestParser parser(HttpLimits{});
    ASSERT_EQ(feed_all(parser, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), Status::request);
    EXPECT_FALSE(parser.keep_alive());
  }
  {
    HttpRequestParser parser(HttpLimits{});
    ASSERT_EQ(feed_all(parser, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
              Status::request);
    EXPECT_TRUE(parser.keep_alive());
  }
}

TEST(HttpRequestParser, KeepAliveFollowsEachPipelinedRequest) {
  const std::string bytes = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
  HttpRequestParser parser(HttpLimits{});
  size_t consumed = 0;
  ASSERT_EQ(parser.feed(bytes.data(), bytes.size(), consumed), Status::request);
  EXPECT_TRUE(parser.keep_alive());
  parser.take();
  const size_t offset = consumed;
  ASSERT_EQ(parser.feed(bytes.data() + offset, bytes.size() - offset, consumed), Status::request);
  EXPECT_FALSE(parser.keep_alive());
}

TEST(HttpRequestParser, MidRequestTracksPartialRequests) {
  HttpRequestParser parser(HttpLimits{});
  EXPECT_FALSE(parser.mid_request());  // nothing read yet
  EXPECT_EQ(feed_all(parser, "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"), Status::need_more);
  EXPECT_TRUE(parser.mid_request());
  EXPECT_EQ(feed_all(parser, "cd"), Status::request);
  EXPECT_FALSE(parser.mid_request());
  parser.take();
  EXPECT_EQ(feed_all(parser, "G"), Status::need_more);
  EXPECT_TRUE(parser.mid_request());
}

TEST(HttpRequestParser, EmptyFeedNeedsMore) {
  HttpRequestParser parser(HttpLimits{});
  size_t consumed = 7;
  EXPECT_EQ(parser.feed("", 0, consumed), Status::need_more);
  EXPECT_EQ(consumed, 0u);
  EXPECT_FALSE(parser.mid_request());
}

TEST(HttpRequestParser, OnContinueRunsForExpect100Continue) {
  int continues = 0;
  HttpRequestParser parser(HttpLimits{}, [&] { ++continues; });
  // Runs once the headers are in, before the body arrives.
  EXPECT_EQ(
      feed_all(parser, "POST /up HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n"),
      Status::need_more);
  EXPECT_EQ(continues, 1);
  EXPECT_EQ(feed_all(parser, "ok"), Status::request);
  EXPECT_EQ(parser.take().body, "ok");
  EXPECT_EQ(continues, 1);
  // Not for requests without the header.
  EXPECT_EQ(feed_all(parser, "POST /up HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"), Status::request);
  EXPECT_EQ(continues, 1);
}

TEST(HttpRequestParser, OnContinueDoesNotRunForABodyOverTheLimit) {
  // Telling the client to send a body that will be refused wastes its upload.
  int continues = 0;
  HttpLimits limits;
  limits.max_body_bytes = 10;
  HttpRequestParser parser(limits, [&] { ++continues; });
  size_t consumed = 0;
  const std::string bytes = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n";
  EXPECT_EQ(parser.feed(bytes.data(), bytes.size(), consumed), Status::error);
  EXPECT_EQ(parser.error_status(), 413);
  EXPECT_EQ(continues, 0);
}

TEST(HttpRequestParser, BodyAtTheLimitIsAccepted) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(parse_one("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits).body,
            "0123456789");
}

// --- errors ------------------------------------------------------------------------------

TEST(HttpRequestParser, MalformedRequestLineIs400) {
  EXPECT_EQ(error_of("GARBAGE\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/9.Z\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET  HTTP/1.1\r\n\r\n"), 400);
}

TEST(HttpRequestParser, HeadersOverTheByteLimitAre431) {
  HttpLimits limits;
  limits.max_header_bytes = 64;
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nX-Big: " + std::string(100, 'a') + "\r\n\r\n", limits),
            431);
  // Also when they arrive in small pieces.
  HttpRequestParser parser(limits);
  const std::string bytes = "GET / HTTP/1.1\r\n" + std::string(25, 'X') + ": v\r\n" +
                            std::string(25, 'Y') + ": v\r\n" + std::string(25, 'Z') + ": v\r\n\r\n";
  Status s = Status::need_more;
  for (size_t i = 0; i < bytes.size() && s == Status::need_more; i += 3) {
    size_t consumed = 0;
    s = parser.feed(bytes.data() + i, std::min<size_t>(3, bytes.size() - i), consumed);
  }
  EXPECT_EQ(s, Status::error);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParser, LongUrlCountsTowardsTheHeaderLimit) {
  HttpLimits limits;
  limits.max_header_bytes = 64;
  EXPECT_EQ(error_of("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", limits), 431);
}

TEST(HttpRequestParser, TooManyHeadersIs431) {
  HttpLimits limits;
  limits.max_headers = 3;
  const std::string three = "X-1: a\r\nX-2: b\r\nX-3: c\r\n";
  EXPECT_EQ(parse_one("GET / HTTP/1.1\r\n" + three + "\r\n", limits).headers.size(), 3u);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n" + three + "X-4: d\r\n\r\n", limits), 431);
}

TEST(HttpRequestParser, ContentLengthOverTheBodyLimitIs413) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  // Refused on the header alone, before any body byte arrives.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits), 413);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", limits), 413);
}

TEST(HttpRequestParser, ChunkedBodyGrowingPastTheLimitIs413) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  HttpRequestParser parser(limits);
  EXPECT_EQ(
      feed_all(parser, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n"),
      Status::need_more);
  size_t consumed = 0;
  const std::string more = "6\r\nghijkl\r\n0\r\n\r\n";
  EXPECT_EQ(parser.feed(more.data(), more.size(), consumed), Status::error);
  EXPECT_EQ(parser.error_status(), 413);
}

TEST(HttpRequestParser, BothContentLengthAndTransferEncodingIs400) {
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "0\r\n\r\n"),
            400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                     "0\r\n\r\n"),
            400);
}

TEST(HttpRequestParser, InvalidChunkSizeIs400) {
  EXPECT_EQ(
      error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
      400);
}

TEST(HttpRequestParser, TwoDifferentContentLengthsAre400) {
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"),
            400);
}

TEST(HttpRequestParser, AfterAnErrorFeedKeepsReturningError) {
  HttpRequestParser parser(HttpLimits{});
  size_t consumed = 0;
  const std::string bad = "BAD REQUEST LINE\r\n\r\n";
  ASSERT_EQ(parser.feed(bad.data(), bad.size(), consumed), Status::error);
  const int status = parser.error_status();
  const std::string reason = parser.error_reason();
  // A good request after it is not parsed: the stream cannot be trusted any more.
  const std::string good = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parser.feed(good.data(), good.size(), consumed), Status::error);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.feed(good.data(), good.size(), consumed), Status::error);
  EXPECT_EQ(parser.error_status(), status);
  EXPECT_EQ(parser.error_reason(), reason);
}

TEST(HttpRequestParser, LimitErrorsAlsoStick) {
  HttpLimits limits;
  limits.max_headers = 1;
  HttpRequestParser parser(limits);
  size_t consumed = 0;
  const std::string bad = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
  ASSERT_EQ(parser.feed(bad.data(), bad.size(), consumed), Status::error);
  EXPECT_EQ(parser.error_status(), 431);
  const std::string good = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parser.feed(good.data(), good.size(), consumed), Status::error);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParser, WhitespaceInAHeaderNameIs400) {
  // "Transfer-Encoding :" is chunked to http-parser but another header to a naive reader:
  // the way a body is smuggled past the both-framings check.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"), 400);
}

TEST(HttpRequestParser, OnlyHttpIsSpoken) {
  EXPECT_EQ(error_of("GET / HTTQ/1.1\r\nHost: x\r\n\r\n"), 400);
  // Split anywhere, the line is still checked as a whole.
  HttpRequestParser parser(HttpLimits{});
  const std::string bytes = "GET / HTTQ/1.1\r\nHost: x\r\n\r\n";
  Status last = Status::need_more;
  for (size_t at = 0; at < bytes.size() && last == Status::need_more; at += 3) {
    size_t consumed = 0;
    last = parser.feed(bytes.data() + at, std::min<size_t>(3, bytes.size() - at), consumed);
  }
  EXPECT_EQ(last, Status::error);
  // Empty lines before a request are tolerated, as HTTP/1.1 allows.
  EXPECT_EQ(parse_one("\r\nGET /a HTTP/1.0\r\n\r\n").path, "/a");
}

}  // namespace
}  // namespace recado
