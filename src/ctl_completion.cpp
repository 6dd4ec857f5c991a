// recadoctl completion bash|zsh: a completion script generated from the command line itself
// (CLI11's tree of commands and options, and the fixed values Cli::choice recorded), so it
// cannot drift from what the parser accepts.
#include <fmt/format.h>

#include <iostream>

#include "src/ctl_common.hpp"

namespace recado::ctl {

namespace {

struct OptionInfo {
  std::vector<std::string> names;  // -c, --config
  std::string description;
  bool takes_value = false;
  std::vector<std::string> values;  // fixed values, if any
};

// One command (the root is ""), what follows it, and what it takes.
struct Node {
  std::string path;                                           // "jobs list"
  std::vector<std::pair<std::string, std::string>> commands;  // name, description
  std::vector<OptionInfo> options;  // its own, then its parents' (they fall through)
  std::vector<std::string> positional_values;
};

void collect(const Cli& cli, const CLI::App* app, const std::string& path,
             const std::vector<OptionInfo>& inherited, std::vector<Node>& out) {
  Node node;
  node.path = path;
  std::vector<OptionInfo> own;
  for (const CLI::Option* opt : app->get_options()) {
    const auto values = cli.choices.find(opt);
    if (opt->get_lnames().empty() && opt->get_snames().empty()) {  // positional
      if (values != cli.choices.end())
        node.positional_values.insert(node.positional_values.end(), values->second.begin(),
                                      values->second.end());
      continue;
    }
    OptionInfo info;
    for (const auto& s : opt->get_snames()) info.names.push_back("-" + s);
    for (const auto& l : opt->get_lnames()) info.names.push_back("--" + l);
    info.description = opt->get_description();
    info.takes_value = opt->get_expected_max() > 0;
    if (values != cli.choices.end()) info.values = values->second;
    own.push_back(std::move(info));
  }
  node.options = own;
  for (const auto& parent : inherited) {
    bool shadowed = false;
    for (const auto& mine : own)
      for (const auto& n : mine.names)
        for (const auto& pn : parent.names) shadowed |= n == pn;
    if (!shadowed) node.options.push_back(parent);
  }
  std::vector<OptionInfo> passed_down;  // the help flag is each command's own
  for (const auto& o : node.options)
    if (std::find(o.names.begin(), o.names.end(), "--help") == o.names.end())
      passed_down.push_back(o);
  const auto subs =
      app->get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
  for (const CLI::App* sub : subs)
    node.commands.emplace_back(sub->get_name(), sub->get_description());
  out.push_back(node);
  for (const CLI::App* sub : subs)
    collect(cli, sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), passed_down,
            out);
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// A case arm's pattern: the path, quoted (paths and option names are plain words).
std::string pattern(const std::string& path, const std::string& option = "") {
  return "\"" + path + "|" + option + "\"";
}

// The lookups both shells share, as POSIX-style functions each shell can run:
//   _recadoctl_commands PATH        the commands that may follow PATH
//   _recadoctl_options PATH         the options PATH takes
//   _recadoctl_valued PATH          those of them that take a value
//   _recadoctl_values PATH OPTION   an option's fixed values (OPTION "": the positional ones)
std::string lookups(const std::vector<Node>& nodes) {
  std::string commands, options, valued, values;
  for (const Node& n : nodes) {
    std::vector<std::string> subs, opts, with_value;
    for (const auto& [name, _] : n.commands) subs.push_back(name);
    for (const auto& o : n.options) {
      opts.insert(opts.end(), o.names.begin(), o.names.end());
      if (o.takes_value) with_value.insert(with_value.end(), o.names.begin(), o.names.end());
      if (!o.values.empty())
        for (const auto& name : o.names)
          values += fmt::format("    {}) echo \"{}\" ;;\n", pattern(n.path, name), join(o.values));
    }
    if (!subs.empty())
      commands += fmt::format("    {}) echo \"{}\" ;;\n", pattern(n.path), join(subs));
    options += fmt::format("    {}) echo \"{}\" ;;\n", pattern(n.path), join(opts));
    if (!with_value.empty())
      valued += fmt::format("    {}) echo \"{}\" ;;\n", pattern(n.path), join(with_value));
    if (!n.positional_values.empty())
      values += fmt::format("    {}) echo \"{}\" ;;\n", pattern(n.path), join(n.positional_values));
  }
  auto function = [](const std::string& name, const std::string& key, const std::string& arms) {
    return fmt::format("{}() {{\n  case \"{}\" in\n{}  esac\n}}\n", name, key, arms);
  };
  return function("_recadoctl_commands", "$1|", commands) +
         function("_recadoctl_options", "$1|", options) +
         function("_recadoctl_valued", "$1|", valued) +
         function("_recadoctl_values", "$1|$2", values);
}

// Walks the words before the cursor: the command path, and whether the word being completed
// is an option's value. Shared by both shells (arrays: bash's COMP_WORDS from 0, zsh's words
// from 1; the caller passes the words before the cursor, without the program's name).
constexpr const char* kWalk = R"SH(_recadoctl_walk() {
  _recadoctl_path="" _recadoctl_skip=0
  local word
  for word in "$@"; do
    if [ "$_recadoctl_skip" = 1 ]; then _recadoctl_skip=0; continue; fi
    case "$word" in
      -*=*) ;;
      -*) case " $(_recadoctl_valued "$_recadoctl_path") " in *" $word "*) _recadoctl_skip=1 ;; esac ;;
      *) case " $(_recadoctl_commands "$_recadoctl_path") " in
           *" $word "*) _recadoctl_path="${_recadoctl_path:+$_recadoctl_path }$word" ;;
         esac ;;
    esac
  done
}
)SH";

std::string bash_script(const std::vector<Node>& nodes) {
  return std::string(
             R"SH(# bash completion for recadoctl, generated by `recadoctl completion bash` from its own
# command line. Load it in this shell:  source <(recadoctl completion bash)
# or for every shell:  recadoctl completion bash > ~/.local/share/bash-completion/completions/recadoctl
)SH") + lookups(nodes) +
         kWalk + R"SH(_recadoctl() {
  local cur="${COMP_WORDS[COMP_CWORD]}" _recadoctl_path _recadoctl_skip
  _recadoctl_walk "${COMP_WORDS[@]:1:COMP_CWORD-1}"
  if [ "$_recadoctl_skip" = 1 ]; then
    COMPREPLY=($(compgen -W "$(_recadoctl_values "$_recadoctl_path" "${COMP_WORDS[COMP_CWORD-1]}")" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_recadoctl_options "$_recadoctl_path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_recadoctl_commands "$_recadoctl_path") $(_recadoctl_values "$_recadoctl_path" "")" -- "$cur"))
  fi
}
complete -F _recadoctl recadoctl
)SH";
}

// A zsh _describe item: "name:description", colons in the name escaped, quoted for zsh.
std::string zsh_item(const std::string& name, const std::string& description) {
  std::string item;
  for (char c : name) item += c == ':' ? std::string("\\:") : std::string(1, c);
  item += ":" + description;
  std::string quoted = "'";
  for (char c : item) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string zsh_script(const std::vector<Node>& nodes) {
  std::string describe_commands, describe_options;
  for (const Node& n : nodes) {
    std::vector<std::string> items;
    for (const auto& [name, description] : n.commands) items.push_back(zsh_item(name, description));
    if (!items.empty())
      describe_commands += fmt::format("    {}) items=({}) ;;\n", pattern(n.path), join(items));
    items.clear();
    for (const auto& o : n.options)
      for (const auto& name : o.names) items.push_back(zsh_item(name, o.description));
    describe_options += fmt::format("    {}) items=({}) ;;\n", pattern(n.path), join(items));
  }
  return std::string(R"SH(#compdef recadoctl
# zsh completion for recadoctl, generated by `recadoctl completion zsh` from its own command
# line. Install:  recadoctl completion zsh > "${fpath[1]}/_recadoctl"  (then start a new zsh),
# or load it in this shell (after compinit):  source <(recadoctl completion zsh)
)SH") + lookups(nodes) +
         kWalk + R"SH(_recadoctl_describe_commands() {
  local -a items
  case "$1|" in
)SH" + describe_commands +
         R"SH(  esac
  (( ${#items} )) && _describe -t commands 'recadoctl command' items
}
_recadoctl_describe_options() {
  local -a items
  case "$1|" in
)SH" + describe_options +
         R"SH(  esac
  (( ${#items} )) && _describe -t options 'option' items
}
_recadoctl() {
  local -a values
  local _recadoctl_path _recadoctl_skip
  _recadoctl_walk "${(@)words[2,CURRENT-1]}"
  if [[ $_recadoctl_skip == 1 ]]; then
    values=(${=$(_recadoctl_values "$_recadoctl_path" "${words[CURRENT-1]}")})
    (( ${#values} )) && compadd -a values
  elif [[ ${words[CURRENT]} == -* ]]; then
    _recadoctl_describe_options "$_recadoctl_path"
  else
    _recadoctl_describe_commands "$_recadoctl_path"
    values=(${=$(_recadoctl_values "$_recadoctl_path" "")})
    (( ${#values} )) && compadd -a values
  fi
}
if [[ "${funcstack[1]}" == _recadoctl ]]; then
  _recadoctl "$@"   # autoloaded from $fpath
else
  compdef _recadoctl recadoctl
fi
)SH";
}

}  // namespace

void add_completion_command(Cli& cli) {
  auto shell = std::make_shared<std::string>();
  auto* completion =
      cli.app.add_subcommand("completion", "print a shell completion script (bash or zsh)");
  cli.choice(completion->add_option("shell", *shell, "bash or zsh")->required(), {"bash", "zsh"});
  completion->footer(R"SH(
Generated from recadoctl's own commands and options, so it always matches this binary.
  bash:  source <(recadoctl completion bash)          # this shell
         recadoctl completion bash > ~/.local/share/bash-completion/completions/recadoctl
  zsh:   recadoctl completion zsh > "${fpath[1]}/_recadoctl"
Needs no database and ignores --json.)SH");
  cli.on(
      completion,
      [&cli, shell](Session&) {
        std::vector<Node> nodes;
        collect(cli, &cli.app, "", {}, nodes);
        std::cout << (*shell == "bash" ? bash_script(nodes) : zsh_script(nodes));
        return 0;
      },
      /*needs_database=*/false);
}

}  // namespace recado::ctl
