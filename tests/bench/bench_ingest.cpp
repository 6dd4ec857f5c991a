// Webhook ingest: WhatsApp messages as the providers deliver them, half Cloud API (signed with
// X-Hub-Signature-256), half Evolution (shared token header), each a new message id from one
// of 5,000 conversations, POSTed by wrk at 64 connections to `recado ingress` for tenant
// `bench`; every 200 must be committed (rows counted after, once per distinct id sent). The
// reference is nginx answering 202 to the very same requests (same wrk script and bodies), run
// before and after recado (the mean of both): the ratio is what authenticating, decoding and
// committing costs next to answering at once. The database's WAL is warmed first (BenchDatabase::warm_wal).
// wrk, nginx, PostgreSQL and recado share the machine, so each run also prints the CPU each
// of them used, to tell which one limited the rate.
#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "src/hmac.hpp"
#include "tests/bench/bench.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado::bench {

namespace {

constexpr int kThreads = 2;        // wrk threads: the machine has 2 cores, shared with the server
constexpr int kConnections = 64;   // as bench enqueue
constexpr int kConversations = 5000;
constexpr const char* kCloudSecret = "bench-app-secret";
constexpr const char* kEvolutionToken = "bench-evolution-token";
constexpr const char* kNginx = "/usr/sbin/nginx";

// ---- the webhooks -------------------------------------------------------------------------

const char* const kFirstNames[] = {"Ana", "João", "Maria", "José", "Francisca", "Antônio", "Luíza", "Carlos",
                                   "Juliana", "Paulo", "Fernanda", "Lucas", "Patrícia", "Rafael", "Camila",
                                   "Marcos", "Aline", "Gabriel", "Beatriz", "Pedro", "Letícia", "Thiago",
                                   "Vanessa", "Bruno", "Simone", "Rodrigo", "Cláudia", "Felipe", "Débora",
                                   "Mateus", "Raimunda", "Sebastião", "Conceição", "Vitória", "Caio"};
const char* const kLastNames[] = {"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves",
                                  "Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho",
                                  "Araújo", "Melo", "Barbosa", "Cardoso", "Rocha", "Dias", "Nascimento",
                                  "Moreira", "Nunes", "Teixeira", "Mendes"};
const char* const kPhrases[] = {
    "Oi, bom dia!", "Boa tarde, tudo bem?", "Olá", "Queria marcar uma consulta para a semana que vem.",
    "Vocês atendem no sábado?", "Qual o valor da limpeza?", "Pode ser às 15h?", "Obrigada!", "Obrigado, até mais",
    "Tenho convênio, vocês aceitam?", "Preciso remarcar meu horário de amanhã.",
    "Estou com dor no dente do fundo desde ontem à noite e não consegui dormir direito.",
    "Qual é o endereço da clínica?", "Tem estacionamento por perto?", "Confirmo sim.",
    "Não vou conseguir ir hoje, desculpa.", "Minha filha também precisa de uma avaliação.",
    "Aceitam pix ou cartão?", "Quanto tempo dura o atendimento?", "Perfeito, até lá.",
    "Vocês fazem clareamento?", "Sou paciente da doutora Helena há uns três anos.",
    "Recebi a mensagem de lembrete, mas acho que o horário está errado.", "Ok", "Sim", "Pode ser",
    "Que horas vocês abrem amanhã?", "Tem algum horário livre na quinta de manhã?",
    "Meu aparelho soltou um fio, preciso de uma manutenção urgente.",
    "Vi o anúncio no Instagram e fiquei com algumas dúvidas sobre o implante.",
    "Consigo parcelar em quantas vezes?", "Estou chegando, uns dez minutos de atraso.",
    "Bom dia, gostaria de saber se o resultado do exame já saiu.",
    "A receita que o doutor passou acabou, posso pegar outra?", "Valeu!", "Tudo certo então.",
    "Desculpa a demora para responder, estava trabalhando.", "É o mesmo endereço da avenida Paulista?",
    "Minha mãe tem 78 anos e usa cadeira de rodas, a clínica tem acessibilidade?",
    "Prefiro depois das 18h se possível.", "Pode me mandar a localização?", "Beleza, combinado."};

template <size_t N>
const char* pick(const char* const (&items)[N], uint64_t n) {
  return items[n % N];
}

// A bijection of 64-bit numbers that looks random: distinct indexes give distinct ids.
uint64_t scramble(uint64_t x) {
  x *= 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 32);
}

std::string contact_phone(int contact) {
  static const int kAreaCodes[] = {11, 21, 31, 41, 51, 61, 71, 81, 19, 27};
  return fmt::format("55{}9{:08d}", kAreaCodes[contact % 10], 37000000 + contact * 7919);
}

std::string contact_name(int contact) {
  return std::string(pick(kFirstNames, contact)) + " " + pick(kLastNames, contact / 7 + contact);
}

std::string message_text(std::mt19937_64& rng) {
  // Mostly short chat lines; one in ten a longer message of several sentences.
  const int parts = rng() % 10 == 0 ? 5 + static_cast<int>(rng() % 6) : 1 + static_cast<int>(rng() % 3);
  std::string text;
  for (int i = 0; i < parts; ++i) {
    if (i) text += ' ';
    text += pick(kPhrases, rng());
  }
  return text;
}

std::string iso_time(int64_t unix_seconds, int millis) {
  const time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, millis);
}

// Webhook number `n` of the run: even ones from Cloud API, odd ones from Evolution; the
// first half of the conversations write through Cloud API, the second through Evolution.
std::string cloudapi_body(uint64_t n, std::mt19937_64& rng) {
  const int contact = static_cast<int>(rng() % (kConversations / 2));
  const std::string phone = contact_phone(contact);
  return fmt::format(
      R"({{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages",)"
      R"("value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550000000",)"
      R"("phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"{}"}},"wa_id":"{}"}}],)"
      R"("messages":[{{"from":"{}","id":"wamid.HBgN{}FQIAEhgU{:016X}","timestamp":"{}","type":"text",)"
      R"("text":{{"body":"{}"}}}}]}}}}]}}]}})",
      contact_name(contact), phone, phone, phone, scramble(n), 1767225600 + n / 40, message_text(rng));
}

std::string evolution_body(uint64_t n, std::mt19937_64& rng) {
  const int contact = kConversations / 2 + static_cast<int>(rng() % (kConversations / 2));
  const int64_t when = 1767225600 + static_cast<int64_t>(n / 40);
  return fmt::format(
      R"({{"event":"messages.upsert","instance":"bench","data":{{"key":{{"remoteJid":"{}@s.whatsapp.net",)"
      R"("fromMe":false,"id":"3EB0{:016X}"}},"pushName":"{}","message":{{"conversation":"{}"}},)"
      R"("messageType":"conversation","messageTimestamp":{}}},"date_time":"{}",)"
      R"("sender":"5511900000000@s.whatsapp.net","server_url":"http://evolution.bench.local:8080",)"
      R"("apikey":"B3NCH-EV0LUT10N-AP1K3Y"}})",
      contact_phone(contact), scramble(n), contact_name(contact), message_text(rng), when,
      iso_time(when, static_cast<int>(n % 1000)));
}

struct Corpus {
  std::vector<long> slice;  // webhooks in each wrk thread's file
  long total = 0;
  size_t min_bytes = SIZE_MAX, max_bytes = 0, body_bytes = 0;
};

// One file per wrk thread, a record per webhook: 'c' (Cloud API) or 'e' (Evolution), the
// body's length in 6 digits, for 'c' the 71-character X-Hub-Signature-256 value, the body, and
// a newline.
Corpus write_corpus(const std::string& dir, long per_thread) {
  Corpus corpus;
  std::mt19937_64 rng(20260101);
  for (int t = 0; t < kThreads; ++t) {
    std::ofstream out(fmt::format("{}/slice-{}.dat", dir, t + 1), std::ios::binary);
    for (long k = 0; k < per_thread; ++k) {
      const uint64_t n = static_cast<uint64_t>(t) * per_thread + k;
      const bool cloud = n % 2 == 0;
      const std::string body = cloud ? cloudapi_body(n, rng) : evolution_body(n, rng);
      out << (cloud ? 'c' : 'e') << fmt::format("{:06d}", body.size());
      if (cloud) out << "sha256=" << hmac_sha256_hex(kCloudSecret, body);
      out << body << '\n';
      corpus.min_bytes = std::min(corpus.min_bytes, body.size());
      corpus.max_bytes = std::max(corpus.max_bytes, body.size());
      corpus.body_bytes += body.size();
    }
    if (!out.flush()) throw std::runtime_error("cannot write the webhooks under " + dir);
    corpus.slice.push_back(per_thread);
    corpus.total += per_thread;
  }
  return corpus;
}

// wrk's script. Each thread reads its own file whole at init and walks it in request(), from
// the start again when it runs out (those repeats are duplicates). done() prints, for every
// thread, how many times request() was called, so that the ids sent can be counted.
const char* const kLua = R"LUA(
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local f = assert(io.open("@DIR@/slice-" .. id .. ".dat", "rb"))
  data = f:read("*a")
  f:close()
  pos, calls, wraps = 1, 0, 0
  cloud = {["Content-Type"] = "application/json"}
  evolution = {["Content-Type"] = "application/json", ["x-recado-token"] = "@TOKEN@"}
end

-- The first call of every thread answers GET /healthz: before starting, wrk asks the first
-- thread for one request to check that it parses, and never sends it. Either way, each thread
-- sends calls - 1 webhooks.
function request()
  calls = calls + 1
  if calls == 1 then return wrk.format("GET", "/healthz", {}) end
  if pos > #data then pos, wraps = 1, wraps + 1 end
  local kind = string.byte(data, pos)
  local len = tonumber(string.sub(data, pos + 1, pos + 6))
  pos = pos + 7
  local path, headers = "/webhooks/bench/evolution", evolution
  if kind == 99 then -- 'c'
    path, headers = "/webhooks/bench/cloudapi", cloud
    cloud["X-Hub-Signature-256"] = string.sub(data, pos, pos + 70)
    pos = pos + 71
  end
  local body = string.sub(data, pos, pos + len - 1)
  pos = pos + len + 1
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("ingest-thread %d calls %d wraps %d\n", t:get("id"), t:get("calls"), t:get("wraps")))
  end
  io.write(string.format("ingest-latency-us p50 %d p99 %d\n", latency:percentile(50), latency:percentile(99)))
end
)LUA";

// ---- CPU accounting, from /proc ------------------------------------------------------------

// utime + stime, in seconds, of `root` and of its children, by pid.
std::map<pid_t, double> cpu_of_tree(pid_t root) {
  std::map<pid_t, double> out;
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(it->path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;  // gone meanwhile
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    std::vector<std::string> f;  // f[0] is field 3 (state): ppid is f[1], utime f[11], stime f[12]
    for (std::string s; f.size() < 13 && fields >> s;) f.push_back(s);
    if (f.size() < 13) continue;
    const pid_t pid = std::stoi(name);
    if (pid != root && std::stoi(f[1]) != root) continue;
    out[pid] = (std::stod(f[11]) + std::stod(f[12])) / tick;
  }
  return out;
}

double cpu_since(const std::map<pid_t, double>& before, const std::map<pid_t, double>& after) {
  double sum = 0;
  for (const auto& [pid, seconds] : after) {
    auto it = before.find(pid);
    sum += seconds - (it == before.end() ? 0 : it->second);
  }
  return sum;
}

struct MachineCpu {
  double busy = 0, total = 0;  // jiffies, all cores
};

MachineCpu machine_cpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  MachineCpu m;
  for (int i = 0; i < 8; ++i) {  // user nice system idle iowait irq softirq steal
    double v = 0;
    in >> v;
    m.total += v;
    if (i != 3 && i != 4) m.busy += v;
  }
  return m;
}

double children_cpu() {  // of this process's children already waited for, in seconds
  rusage r{};
  getrusage(RUSAGE_CHILDREN, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// ---- one wrk run -----------------------------------------------------------------------------

struct WrkRun {
  long responses = 0;      // answered (any status), as wrk counts them
  long non2xx = 0;         // "Non-2xx or 3xx responses"
  double rate = 0;         // 2xx (or 3xx) answers per second
  double p50_ms = 0, p99_ms = 0;
  std::string socket_errors = "none";
  std::vector<long> calls;  // request() calls per thread (ids sent: calls - 1, see kLua)
  std::string cpu;          // where the CPU went while it ran
  std::string output;
};

WrkRun run_wrk(const std::string& lua, int port, int seconds, const std::map<std::string, pid_t>& servers) {
  std::map<std::string, std::map<pid_t, double>> before;
  for (const auto& [name, pid] : servers) before[name] = cpu_of_tree(pid);
  const MachineCpu machine_before = machine_cpu();
  const double wrk_before = children_cpu();
  const auto started = std::chrono::steady_clock::now();
  auto r = test::run_command({"/usr/bin/wrk", fmt::format("-t{}", kThreads), fmt::format("-c{}", kConnections),
                              fmt::format("-d{}s", seconds), "--latency", "-s", lua,
                              fmt::format("http://127.0.0.1:{}/", port)},
                             {}, std::chrono::seconds{seconds + 120});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const MachineCpu machine_after = machine_cpu();
  if (r.code != 0) throw std::runtime_error("wrk failed:\n" + r.out + r.err);

  WrkRun run;
  run.output = r.out;
  const double cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  const double busy = cores * (machine_after.busy - machine_before.busy) /
                      std::max(1.0, machine_after.total - machine_before.total);
  double accounted = 0;
  for (const auto& [name, pid] : servers) {
    const double used = cpu_since(before[name], cpu_of_tree(pid)) / wall;
    accounted += used;
    run.cpu += fmt::format("{} {:.2f}, ", name, used);
  }
  const double wrk = (children_cpu() - wrk_before) / wall;
  run.cpu += fmt::format("wrk {:.2f}, everything else {:.2f} ({:.2f} of {:.0f} busy)", wrk,
                         std::max(0.0, busy - accounted - wrk), busy, cores);

  std::smatch m;
  const std::string& out = run.output;
  if (!std::regex_search(out, m, std::regex(R"(([0-9]+) requests in )")))
    throw std::runtime_error("cannot read wrk's output:\n" + out);
  run.responses = std::stol(m[1]);
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses: ([0-9]+))"))) run.non2xx = std::stol(m[1]);
  if (std::regex_search(out, m, std::regex(R"(Socket errors: ([^\n]*))"))) run.socket_errors = m[1];
  if (!std::regex_search(out, m, std::regex(R"(Requests/sec:\s*([0-9.]+))")))
    throw std::runtime_error("cannot find Requests/sec in wrk's output:\n" + out);
  run.rate = run.responses ? std::stod(m[1]) * static_cast<double>(run.responses - run.non2xx) / run.responses : 0;
  if (!std::regex_search(out, m, std::regex(R"(ingest-latency-us p50 ([0-9]+) p99 ([0-9]+))")))
    throw std::runtime_error("cannot find the script's latency line in wrk's output:\n" + out);
  run.p50_ms = std::stod(m[1]) / 1000;
  run.p99_ms = std::stod(m[2]) / 1000;
  run.calls.assign(kThreads, -1);
  const std::regex thread_line(R"(ingest-thread ([0-9]+) calls ([0-9]+) wraps ([0-9]+))");
  for (std::sregex_iterator it(out.begin(), out.end(), thread_line), end; it != end; ++it) {
    const int id = std::stoi((*it)[1]);
    if (id >= 1 && id <= kThreads) run.calls[id - 1] = std::stol((*it)[2]);
  }
  for (long c : run.calls)
    if (c < 0) throw std::runtime_error("wrk's output lacks a thread's count:\n" + out);
  return run;
}

// ---- nginx, the reference ------------------------------------------------------------------

// Its own nginx on a loopback port, in the foreground: a master (this process's child) and
// one worker per core. Stopped by the master's pid; a worker still there after the master
// has gone is killed by its own pid.
class Nginx {
 public:
  Nginx(const std::string& dir, int port) {
    const std::string prefix = dir + "/nginx";
    std::filesystem::create_directories(prefix);
    std::string user;  // as root the workers would switch to `nobody`; keep them as we are
    if (geteuid() == 0) user = "user root root;\n";
    std::ofstream(prefix + "/nginx.conf") << fmt::format(
        "daemon off;\nmaster_process on;\nworker_processes auto;\n{0}pid {1}/nginx.pid;\n"
        "error_log stderr warn;\nevents {{ worker_connections 4096; }}\n"
        "http {{\n  access_log off;\n  keepalive_requests 1000000;\n  keepalive_timeout 75s;\n"
        "  client_body_temp_path {1}/body;\n  proxy_temp_path {1}/proxy;\n  fastcgi_temp_path {1}/fastcgi;\n"
        "  uwsgi_temp_path {1}/uwsgi;\n  scgi_temp_path {1}/scgi;\n"
        "  server {{\n    listen 127.0.0.1:{2};\n    location / {{ return 202; }}\n  }}\n}}\n",
        user, prefix, port);
    process_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{kNginx, "-e", "stderr", "-p", prefix + "/", "-c", prefix + "/nginx.conf"},
        std::map<std::string, std::string>{});
    test::HttpClient http;
    if (!test::poll_until([&] { return http.get(fmt::format("http://127.0.0.1:{}/", port)).status == 202; }))
      throw std::runtime_error("nginx did not answer:\n" + process_->output());
  }
  ~Nginx() { stop(); }
  pid_t pid() const { return process_->pid(); }

  void stop() {
    if (!process_) return;
    std::vector<pid_t> workers;
    for (const auto& [pid, cpu] : cpu_of_tree(process_->pid()))
      if (pid != process_->pid()) workers.push_back(pid);
    process_->signal(SIGTERM);  // fast shutdown: the master stops its workers
    if (!process_->wait(std::chrono::seconds{10})) {
      process_->signal(SIGKILL);
      process_->wait(std::chrono::seconds{10});
    }
    for (pid_t w : workers) {
      std::ifstream comm(fmt::format("/proc/{}/comm", w));
      std::string name;
      if (std::getline(comm, name) && name == "nginx") kill(w, SIGKILL);
    }
    process_.reset();
  }

 private:
  std::unique_ptr<test::ChildProcess> process_;
};

std::string nginx_version() {
  auto r = test::run_command({kNginx, "-v"}, {}, std::chrono::seconds{10});
  std::smatch m;
  const std::string text = r.err + r.out;
  return std::regex_search(text, m, std::regex(R"(nginx/([0-9.]+))")) ? "nginx " + m[1].str() : "nginx";
}

// A sample's value in Prometheus text (a histogram's _sum or _count); 0 when absent.
double metric(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return 0;
}

long count_rows(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return tx.exec("SELECT count(*) FROM recado.inbound WHERE tenant = 'bench'")[0][0].as<long>();
}

}  // namespace

int ingest(const Options& options) {
  const int seconds = options.seconds ? options.seconds : 10;
  if (access(kNginx, X_OK) != 0)
    throw std::runtime_error("nginx is missing (scripts/bootstrap installs it; its own copy is run, not the service)");
  BenchDatabase db;
  // The run writes some 30 MB of WAL a second.
  std::cout << "database " << db.warm_wal(std::clamp(40 * seconds, 200, 900)) << "\n" << std::flush;
  pqxx::connection conn(db.url());
  ScratchDir tmp("ingest");

  // Enough distinct webhooks that recado does not run out within the run; nginx may well
  // run out, which does not matter to it.
  const long total = std::clamp(45000L * seconds, 50000L, 600000L);
  const auto generating = std::chrono::steady_clock::now();
  const Corpus corpus = write_corpus(tmp.path(), total / kThreads);
  std::cout << fmt::format(
      "ingest: {} webhooks ({} per wrk thread), half Cloud API (HMAC-signed), half Evolution (token), "
      "{} conversations, bodies {}-{} bytes (mean {}), made in {:.1f} s\n",
      corpus.total, corpus.slice[0], kConversations, corpus.min_bytes, corpus.max_bytes,
      corpus.body_bytes / corpus.total,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - generating).count());
  std::cout << fmt::format("ingest: {} s per run, wrk -t{} -c{}, the same script and bodies for both\n", seconds,
                           kThreads, kConnections)
            << std::flush;
  std::string lua = kLua;
  lua.replace(lua.find("@DIR@"), 5, tmp.path());
  lua.replace(lua.find("@TOKEN@"), 7, kEvolutionToken);
  const std::string lua_path = tmp.path() + "/ingest.lua";
  std::ofstream(lua_path) << lua;

  // Reference: nginx answering 202 at once, run before recado and again after it; the
  // machine's speed drifts by a tenth within minutes, and the mean of the two brackets it.
  auto reference = [&](const char* when) {
    WrkRun r;
    const int port = test::free_port();
    Nginx nginx(tmp.path(), port);
    r = run_wrk(lua_path, port, seconds, {{"nginx", nginx.pid()}});
    nginx.stop();
    std::cout << fmt::format("  {} answering 202, {}: {:.0f} requests/s, p50 {:.2f} ms, p99 {:.2f} ms; {} not 2xx; "
                             "socket errors: {}\n    cpu, in cores: {}\n",
                             nginx_version(), when, r.rate, r.p50_ms, r.p99_ms, r.non2xx, r.socket_errors, r.cpu)
              << std::flush;
    if (r.non2xx != 0 || r.rate <= 0) throw std::runtime_error("nginx did not answer 202:\n" + r.output);
    return r;
  };
  const WrkRun before = reference("before");

  // recado ingress.
  const int port = test::free_port();
  const std::string config = tmp.path() + "/recado.yaml";
  std::ofstream(config) << fmt::format(
      "database:\n  pool_size: 4\nlog:\n  level: warn\n"
      "ingress:\n  host: 127.0.0.1\n  port: {}\n  api_token: bench-token\n"
      "tenants:\n  bench:\n    webhooks:\n"
      "      cloudapi:\n        secret: {}\n"
      "      evolution:\n        token: {}\n        token_header: x-recado-token\n",
      port, kCloudSecret, kEvolutionToken);
  test::ChildProcess ingress({RECADO_BIN, "-c", config, "ingress"}, {{"RECADO_DATABASE_URL", db.url()}});
  {
    test::HttpClient http;
    if (!test::poll_until([&] { return http.get(fmt::format("http://127.0.0.1:{}/readyz", port)).status == 200; }))
      throw std::runtime_error("recado ingress did not become ready:\n" + ingress.output());
  }
  std::map<std::string, pid_t> servers = {{"recado", ingress.pid()}};
  if (!db.socket_dir().empty()) {
    std::ifstream pidfile(db.socket_dir() + "/postmaster.pid");
    pid_t postmaster = 0;
    if (pidfile >> postmaster && postmaster > 0) servers["postgres"] = postmaster;
  }
  const WrkRun run = run_wrk(lua_path, port, seconds, servers);

  // Ids sent: calls - 1 per thread, each slice's ids once however often it wrapped.
  long sent = 0, distinct = 0;
  bool wrapped = false;
  for (int t = 0; t < kThreads; ++t) {
    const long webhooks = std::max(0L, run.calls[t] - 1);
    sent += webhooks;
    distinct += std::min(webhooks, corpus.slice[t]);
    wrapped = wrapped || webhooks > corpus.slice[t];
  }
  // Requests still in flight when wrk stopped are committed all the same: wait until the count
  // settles, then stop the ingress (after which nothing more can arrive) and count for good.
  {
    long rows = -1;
    auto changed = std::chrono::steady_clock::now();
    const auto deadline = changed + std::chrono::seconds{30};
    for (;;) {
      const long now_rows = count_rows(conn);
      const auto now = std::chrono::steady_clock::now();
      if (now_rows != rows) {
        rows = now_rows;
        changed = now;
      }
      if ((rows == distinct && now - changed >= std::chrono::milliseconds{300}) ||
          now - changed >= std::chrono::seconds{2} || now >= deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }
  // The ingress's own account of its group commit: how many transactions, how big, how long.
  std::string commits;
  {
    test::HttpClient http;
    const auto metrics = http.get(fmt::format("http://127.0.0.1:{}/metrics", port));
    const double transactions = metric(metrics.body, "recado_webhook_commit_batch_size_count");
    if (metrics.status == 200 && transactions > 0)
      commits = fmt::format("{:.0f} transactions of {:.0f} webhooks, {:.1f} ms each, on average", transactions,
                            metric(metrics.body, "recado_webhook_commit_batch_size_sum") / transactions,
                            1000 * metric(metrics.body, "recado_webhook_commit_seconds_sum") /
                                std::max(1.0, metric(metrics.body, "recado_webhook_commit_seconds_count")));
  }
  ingress.signal(SIGTERM);
  if (!ingress.wait(std::chrono::seconds{30})) std::cout << "  recado ingress did not stop within 30 s of SIGTERM; killed\n";
  const std::string ingress_output = ingress.output();
  const long rows = count_rows(conn);
  long replies = 0, conversations = 0;
  {
    pqxx::nontransaction tx(conn);
    replies = tx.exec("SELECT count(*) FROM recado.jobs WHERE kind = 'llm_reply'")[0][0].as<long>();
    conversations = tx.exec("SELECT count(DISTINCT conversation) FROM recado.inbound WHERE tenant = 'bench'")[0][0]
                        .as<long>();
  }
  std::cout << fmt::format("  recado ingress: {:.0f} webhooks/s answered 2xx, p50 {:.2f} ms, p99 {:.2f} ms; "
                           "{} not 2xx; socket errors: {}\n    cpu, in cores: {}\n",
                           run.rate, run.p50_ms, run.p99_ms, run.non2xx, run.socket_errors, run.cpu);
  std::cout << fmt::format("    {} webhooks sent, {} distinct ids ({}); {} rows from {} conversations; "
                           "{} llm_reply jobs\n",
                           sent, distinct, wrapped ? "a slice wrapped: the repeats were duplicates" : "none repeated",
                           rows, conversations, replies);
  if (!commits.empty()) std::cout << "    group commit: " << commits << "\n";
  if (run.non2xx != 0) {
    std::cout << "  wrk's output:\n" << run.output;
    std::cout << "  the ingress's last words:\n"
              << ingress_output.substr(ingress_output.size() > 4000 ? ingress_output.size() - 4000 : 0);
  }

  const WrkRun after = reference("after");
  const double ref_rate = (before.rate + after.rate) / 2, ref_p99 = (before.p99_ms + after.p99_ms) / 2;
  std::cout << fmt::format("  nginx, mean of both: {:.0f} requests/s, p99 {:.2f} ms\n", ref_rate, ref_p99);

  const double ratio = run.rate / ref_rate;
  summary("ingest", run.rate, "webhooks/s", ratio, "nginx-202", ">= 0.25x", ratio >= 0.25);
  summary("ingest", run.p99_ms, "ms p99", ref_p99 > 0 ? run.p99_ms / ref_p99 : 0, "nginx-p99", "<= 20 ms",
          run.p99_ms <= 20);
  const bool exactly_once = rows == distinct && run.non2xx == 0 && distinct > 0;
  summary("ingest", static_cast<double>(rows), fmt::format("rows for {} ids", distinct),
          distinct ? static_cast<double>(rows) / distinct : 0, "ids-sent", "== 1x", exactly_once);
  return exactly_once ? 0 : 1;
}

}  // namespace recado::bench
