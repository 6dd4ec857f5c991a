#include "src/app.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/config.hpp"
#include "src/db_error.hpp"
#include "src/local_postgres.hpp"
#include "src/log.hpp"
#include "src/migrations.hpp"
#include "src/process.hpp"
#include "src/server.hpp"
#include "src/sim.hpp"
#include "src/sim_send.hpp"
#include "src/sim_thread.hpp"

namespace recado {

namespace {

std::string require_db_url(const Config& c) {
  if (c.database.url.empty())
    throw ConfigError("database.url is not set (in the config file or RECADO_DATABASE_URL)");
  return c.database.url;
}

void require_current_schema(const std::string& url) {
  pqxx::connection conn(url);
  const int applied = applied_migration_version(conn);
  if (applied < latest_migration_version())
    throw std::runtime_error("the database schema is at version " + std::to_string(applied) +
                             " and this build needs " + std::to_string(latest_migration_version()) +
                             ": run `recado migrate` first");
}

int run_migrate(const Config& config, bool status_only) {
  pqxx::connection conn(require_db_url(config));
  if (!status_only) {
    const int n = migrate(conn);
    std::cout << (n ? "applied " + std::to_string(n) + " migration(s)" : "schema is up to date")
              << ", now at version " << latest_migration_version() << "\n";
    return 0;
  }
  for (const auto& m : migration_status(conn))
    std::cout << m.version << "  " << (m.applied_at.empty() ? "pending" : "applied " + m.applied_at)
              << "  " << m.name << "\n";
  return 0;
}

int run_dev(Config config, const JobKindTable& kinds) {
  std::string url = config.database.url;
  std::unique_ptr<LocalPostgres> pg;
  if (url.empty()) {
    log::info("starting the private PostgreSQL", {{"data_dir", config.dev.data_dir}});
    pg = std::make_unique<LocalPostgres>(LocalPostgresOptions{config.dev.data_dir, config.dev.postgres_bin, true, "recado"});
    url = pg->url();
  }
  {
    pqxx::connection conn(url);
    migrate(conn);
  }
  // The providers, simulated: point a tenant's LLM, gateway and Cal.com at it to try
  // everything without an account anywhere.
  std::unique_ptr<SimulatorThread> sim;
  if (config.dev.sim_port > 0) sim = std::make_unique<SimulatorThread>(SimulatorOptions{}, "127.0.0.1", config.dev.sim_port);
  const int rc = serve(config, {true, true}, url, kinds, [&](int port) {
    const std::string base = "http://" + config.ingress.host + ":" + std::to_string(port);
    std::cout << "\nrecado dev is running\n"
              << "  ingress    " << base << "  (POST /v1/jobs, GET /healthz, GET /readyz, GET /metrics)\n";
    for (const TenantConfig& t : config.tenants) {
      std::string providers;
      for (const WebhookConfig& w : t.webhooks) providers += (providers.empty() ? "" : "|") + std::string(to_string(w.provider));
      std::cout << "  webhooks   " << base << "/webhooks/" << t.id << "/{" << providers << "}\n";
    }
    if (sim)
      std::cout << "  simulator  " << sim->url() << "  (providers' APIs; GET /_sim/requests, PUT /_sim/faults/{endpoint}, "
                << "POST /_sim/webhooks)\n";
    std::cout << "  database   " << mask_url(url) << "\n"
              << "  try        curl -s -X POST -H 'Authorization: Bearer <ingress.api_token>' \\\n"
              << "               -d '{\"kind\":\"noop\"}' http://" << config.ingress.host << ":" << port << "/v1/jobs\n"
              << "             recadoctl queues\n"
              << "  stop       Ctrl-C\n\n"
              << std::flush;
  });
  return rc;  // pg's destructor stops the PostgreSQL it started, on errors too
}

struct SimCommand {
  std::string host = "127.0.0.1";
  int port = 8090;
  uint64_t seed = 1;
  std::string faults;  // JSON, or @file
  std::string log_level = "info";
  std::size_t max_recorded = 100000;
};

// --faults: a JSON object of endpoint name to fault spec, inline or from @file.
FaultMap read_start_faults(const std::string& arg) {
  if (arg.empty()) return {};
  std::string text = arg;
  std::string where = "--faults";
  if (arg[0] == '@') {
    std::ifstream in(arg.substr(1));
    if (!in) throw ConfigError("--faults: cannot read " + arg.substr(1));
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    where = arg.substr(1);
  }
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw ConfigError(where + " is not valid JSON");
  auto map = parse_fault_map(doc, "faults");
  if (auto* reason = std::get_if<std::string>(&map)) throw ConfigError(where + ": " + *reason);
  return std::get<FaultMap>(map);
}

int run_sim(const SimCommand& cmd) {
  std::signal(SIGPIPE, SIG_IGN);
  log::setup("text", cmd.log_level, true);
  SimulatorOptions options;
  options.seed = cmd.seed;
  options.max_recorded = cmd.max_recorded;
  options.faults = read_start_faults(cmd.faults);
  raise_open_file_limit();
  EventLoop loop;
  Simulator sim(loop, options);
  const int port = sim.listen(cmd.host, cmd.port);
  const std::string base = "http://" + cmd.host + ":" + std::to_string(port);
  std::cout << "\nrecado sim is running on " << base << "  (seed " << cmd.seed << ")\n"
            << "  openai           POST " << base << "/v1/chat/completions\n"
            << "  anthropic        POST " << base << "/v1/messages\n"
            << "  gemini           POST " << base << "/v1beta/models/{model}:generateContent\n"
            << "  evolution        POST " << base << "/message/sendText/{instance}\n"
            << "  whaticket        POST " << base << "/api/messages/send\n"
            << "  cloudapi         POST " << base << "/v21.0/{phone_number_id}/messages\n"
            << "  calcom_bookings  GET|POST " << base << "/v2/bookings   POST " << base << "/v2/bookings/{uid}/cancel\n"
            << "  calcom_slots     GET " << base << "/v2/slots?eventTypeId=&start=&end=\n"
            << "  control          " << base << "/_sim/requests  /_sim/faults[/{endpoint}]  /_sim/webhooks  /_sim/llm/script  /_sim/bookings  /_sim/healthz\n";
  for (const auto& [endpoint, spec] : options.faults)
    std::cout << "  fault            " << to_string(endpoint) << " " << to_json(spec).dump() << "\n";
  std::cout << "  stop             Ctrl-C\n\n" << std::flush;
  bool stopping = false;
  SignalWatcher signals(loop, {SIGINT, SIGTERM}, [&](int signum) {
    if (stopping) {
      log::warn("second signal: exiting now");
      std::_Exit(1);
    }
    stopping = true;
    log::info("shutting down", {{"signal", signum == SIGINT ? "SIGINT" : "SIGTERM"}});
    sim.close([&] { loop.stop(); });
  });
  loop.run();
  return 0;
}

}  // namespace

int recado_main(int argc, char** argv, const JobKindTable& kinds) {
  CLI::App app{"recado: the job engine behind WhatsApp assistants"};
  app.require_subcommand(1);
  std::string config_path;
  if (const char* env = std::getenv("RECADO_CONFIG")) config_path = env;
  app.add_option("-c,--config", config_path, "YAML configuration file (default: $RECADO_CONFIG)");

  auto* ingress = app.add_subcommand("ingress", "serve POST /v1/jobs and health checks");
  auto* worker = app.add_subcommand("worker", "work the configured queues");
  auto* dev = app.add_subcommand("dev", "ingress and worker in one process, on a private PostgreSQL under ./var");
  auto* mig = app.add_subcommand("migrate", "apply the database migrations");
  bool status_only = false;
  mig->add_flag("--status", status_only, "list migrations and whether each is applied");
  auto* config_cmd = app.add_subcommand("config", "configuration tools");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand("check", "validate a file and print the effective configuration, secrets masked");
  std::string check_path;
  check->add_option("file", check_path, "the YAML file")->required();
  auto* sim = app.add_subcommand("sim", "the provider simulator: LLMs, WhatsApp gateways and Cal.com on loopback, with faults");
  SimCommand sim_cmd;
  sim->add_option("--host", sim_cmd.host, "address to listen on (default 127.0.0.1)");
  sim->add_option("--port", sim_cmd.port, "port to listen on (default 8090; 0 picks a free one)");
  sim->add_option("--seed", sim_cmd.seed, "seed of the fault decisions, so runs repeat (default 1)");
  sim->add_option("--faults", sim_cmd.faults, "faults at start: JSON {\"openai\":{spec},...} or @file.json");
  sim->add_option("--max-recorded", sim_cmd.max_recorded, "requests the recorder keeps, oldest dropped (default 100000)")
      ->check(CLI::PositiveNumber);
  sim->add_option("--log-level", sim_cmd.log_level, "trace|debug|info|warn|error (default info; debug logs each request)");
  sim->require_subcommand(0, 1);
  auto* sim_send = sim->add_subcommand(
      "send", "a simulated patient writes: a running simulator posts a signed message webhook to the ingress");
  SimSendOptions send_opts;
  std::vector<std::string> send_words;
  sim_send->add_option("--sim", send_opts.sim_url, "the simulator (default http://127.0.0.1:<dev.sim_port>, 8090)");
  sim_send->add_option("--tenant", send_opts.tenant, "the tenant written to (its webhook credentials come from the config)")
      ->required();
  sim_send->add_option("--provider", send_opts.provider, "evolution|cloudapi|whaticket (default: the tenant's gateway's)")
      ->check(CLI::IsMember({"evolution", "cloudapi", "whaticket"}));
  sim_send->add_option("--from", send_opts.from, "the patient's phone number")->required();
  sim_send->add_option("--name", send_opts.name, "the patient's WhatsApp name");
  sim_send->add_option("--to", send_opts.to, "the ingress's base URL (default http://<ingress.host>:<ingress.port>)");
  sim_send->add_option("--token", send_opts.token, "webhook token instead of the configured one");
  sim_send->add_option("--secret", send_opts.secret, "webhook signing secret instead of the configured one");
  sim_send->add_option("text", send_words, "the message")->required();
  app.add_subcommand("version", "print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (app.got_subcommand("version")) {
      std::cout << "recado " << RECADO_VERSION << "\n";
      return 0;
    }
    if (sim_send->parsed()) {
      // The tenant's credentials come from the configuration: -c or RECADO_CONFIG, else
      // recado dev's when run from the repository.
      if (config_path.empty() && std::filesystem::exists("config/dev.yaml")) config_path = "config/dev.yaml";
      for (const std::string& w : send_words) send_opts.text += (send_opts.text.empty() ? "" : " ") + w;
      const SimSendOrder order = make_sim_send_order(load_config(config_path), send_opts);
      return send_sim_order(order, std::cout, std::cerr);
    }
    if (sim->parsed()) return run_sim(sim_cmd);  // needs no configuration file
    if (check->parsed()) {
      Config c = load_config(check_path);
      std::cout << dump_config(c);
      return 0;
    }
    Config config = load_config(config_path);
    log::setup(config.log.format, config.log.level, config.log.redact);
    if (mig->parsed()) return run_migrate(config, status_only);
    if (dev->parsed()) return run_dev(config, kinds);
    const std::string url = require_db_url(config);
    require_current_schema(url);
    return serve(config, {ingress->parsed(), worker->parsed()}, url, kinds);
  } catch (const ConfigError& e) {
    std::cerr << "recado: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const pqxx::failure& e) {
    std::cerr << "recado: database error: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "recado: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace recado
