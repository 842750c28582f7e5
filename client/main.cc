// cadre: the Cadre message client. This file only wires flags to the workload
// commands (the cluster's own are in cli_cluster.cc); the commands live in
// commands.h, watch_commands.h and beside them.
//
// Exit codes: 0 success, 1 the operation failed, 2 usage error.
#include <fstream>
#include <iostream>
#include <memory>

#include "client/cli.h"
#include "client/commands.h"
#include "client/job_commands.h"
#include "client/metrics_commands.h"
#include "client/notebook_commands.h"
#include "client/pipeline_commands.h"
#include "client/predict.h"
#include "client/service_commands.h"
#include "client/watch_commands.h"

namespace cadre::client {
namespace {

void add_apply(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("apply", "Create resources from YAML manifests");
  auto file = std::make_shared<std::string>();
  cmd->add_option("-f,--filename", *file, "Manifest file; '-' reads stdin")->required();
  cmd->callback([=, &flags] {
    *action = [=, &flags] {
      return with_coordinator(flags,
                              [&](Coordinator& c) { return apply_manifests(c, *file, std::cout); });
    };
  });
}

void add_get(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "get",
      "List nodes, queues, jobs, trainjobs, experiments, trials, inferenceservices, tokens, "
      "pipelines, runs, recurringruns or notebooks");
  auto args = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  auto selector = std::make_shared<std::string>();
  cmd->add_option("resource", *args,
                  "nodes|queues|jobs|trainjobs|experiments|trials|isvc|pipelines|runs|"
                  "recurringruns|notebooks [NAME], or job/NAME")
      ->required()
      ->expected(1, 2);
  cmd->add_option("-o,--output", *output, "Output format: json or wide");
  cmd->add_option("-l,--selector", *selector, "For trials: experiment=NAME");
  auto watch = std::make_shared<bool>(false);
  cmd->add_flag("-w,--watch", *watch,
                "After the table, print each row that appears or changes, until interrupted "
                "(-o json: one watch event per line)");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_resource_ref(*args);
      if (!ref.ok()) return usage_error(ref.status());
      auto format = parse_output_format(*output);
      if (!format.ok()) return usage_error(format.status());
      auto experiment = experiment_selector(*selector);
      if (!experiment.ok()) return usage_error(experiment.status());
      if (*watch) {
        if (ref->type.resource != "trials" && !experiment->empty()) {
          return usage_error(InvalidArgument("-l experiment=NAME selects trials only"));
        }
        WatchListOptions watch_options{*ref, *experiment, *format == OutputFormat::kWide,
                                       *format == OutputFormat::kJson};
        return with_coordinator(
            flags, [&](Coordinator& c) { return watch_listing(c, watch_options, std::cout); });
      }
      return with_coordinator(flags, [&](Coordinator& c) {
        return get_resources(c, *ref, *format, std::cout, *selector);
      });
    };
  });
}

void add_describe(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("describe",
                                 "Show a node, queue, job, trainjob, experiment, "
                                 "inferenceservice, pipeline, run, recurringrun or notebook in "
                                 "detail");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("resource", *args,
                  "node|queue|job|trainjob|experiment|isvc|pipeline|run|notebook NAME, or "
                  "job/NAME")
      ->required()
      ->expected(1, 2);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(
          *args, {"nodes", "queues", "jobs", "trainjobs", "experiments", "inferenceservices",
                  "pipelines", "runs", "recurringruns", "notebooks"});
      if (!ref.ok()) return usage_error(ref.status());
      return with_coordinator(
          flags, [&](Coordinator& c) { return describe_resource(c, *ref, std::cout); });
    };
  });
}

void add_logs(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("logs", "Print a replica's log");
  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<LogsOptions>();
  auto tail = std::make_shared<int64_t>(-1);
  auto task = std::make_shared<std::string>();
  cmd->add_option("resource", *args,
                  "job/NAME, trainjob/NAME, isvc/NAME, run/NAME or notebook/NAME")
      ->required()
      ->expected(1, 2);
  cmd->add_option("--task", *task, "Of a run: the step, by id (condition-1/train) or name");
  cmd->add_flag("-f,--follow", options->follow, "Keep printing until the replica ends");
  cmd->add_option("--replica", options->replica,
                  "Replica name, e.g. worker-1 (default: rank 0); of an isvc: its replica's name "
                  "(default: a ready one)");
  cmd->add_option("--tail", *tail, "Only the last N lines")->check(CLI::NonNegativeNumber);
  auto all_replicas = std::make_shared<bool>(false);
  cmd->add_flag("--all-replicas", *all_replicas,
                "Of a job or trainjob: every replica's log, each line led by [worker-1]");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      if (*all_replicas) {
        auto ref = parse_named_ref(*args, kJobResources);
        if (!ref.ok()) return usage_error(ref.status().annotate("--all-replicas"));
        if (!options->replica.empty() || !task->empty()) {
          return usage_error(InvalidArgument("--all-replicas reads every replica: drop --" +
                                             std::string(task->empty() ? "replica" : "task")));
        }
        LogsOptions run = *options;
        run.ref = *ref;
        if (*tail >= 0) run.tail = *tail;
        return with_coordinator(
            flags, [&](Coordinator& c) { return print_all_replica_logs(c, run, std::cout); });
      }
      auto run_ref = parse_named_ref(*args, {"runs"});
      if (run_ref.ok()) {
        if (task->empty()) return usage_error(InvalidArgument("logs run/NAME needs --task STEP"));
        // A step's log is its job's (a TrainJob step's: --replica's, default rank 0).
        LogsOptions run = *options;
        if (*tail >= 0) run.tail = *tail;
        return with_coordinator(flags, [&](Coordinator& c) -> Status {
          ASSIGN_OR_RETURN(run.ref, run_task_job(c, run_ref->name, *task));
          return print_logs(c, run, std::cout);
        });
      }
      if (!task->empty()) return usage_error(InvalidArgument("--task is for run/NAME"));
      auto notebook = parse_named_ref(*args, {"notebooks"});
      if (notebook.ok()) {
        // A notebook's server is a one-replica job: its log is that job's.
        LogsOptions run = *options;
        run.replica.clear();
        if (*tail >= 0) run.tail = *tail;
        return with_coordinator(flags, [&](Coordinator& c) -> Status {
          ASSIGN_OR_RETURN(run.ref.name, notebook_job(c, notebook->name));
          ASSIGN_OR_RETURN(run.ref.type, parse_resource_type("jobs"));
          return print_logs(c, run, std::cout);
        });
      }
      auto isvc = parse_named_ref(*args, {"inferenceservices"});
      if (isvc.ok()) {
        // A serving replica is a one-replica job: its log is that job's.
        LogsOptions run = *options;
        run.replica.clear();
        if (*tail >= 0) run.tail = *tail;
        return with_coordinator(flags, [&](Coordinator& c) -> Status {
          ASSIGN_OR_RETURN(run.ref.name, service_replica_job(c, isvc->name, options->replica));
          ASSIGN_OR_RETURN(run.ref.type, parse_resource_type("jobs"));
          return print_logs(c, run, std::cout);
        });
      }
      auto ref = parse_named_ref(*args, kJobResources);
      if (!ref.ok()) return usage_error(ref.status());
      if (!options->replica.empty()) {
        const Status replica = check_replica_name(options->replica);
        if (!replica.ok()) return usage_error(replica);
      }
      LogsOptions run = *options;
      run.ref = *ref;
      if (*tail >= 0) run.tail = *tail;
      return with_coordinator(flags, [&](Coordinator& c) { return print_logs(c, run, std::cout); });
    };
  });
}

void add_wait(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "wait",
      "Wait until a job, trainjob, experiment, run or notebook reaches a phase, or a service is "
      "Ready");
  auto args = std::make_shared<std::vector<std::string>>();
  auto condition = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>("300");
  cmd->add_option("resource", *args,
                  "job/NAME, trainjob/NAME, experiment/NAME, isvc/NAME, run/NAME or notebook/NAME")
      ->required()
      ->expected(1, 2);
  cmd->add_option("--for", *condition,
                  "Succeeded, Failed, Running, Restarting or Queued (also condition=Succeeded); "
                  "for an isvc: Ready, PredictorReady or IngressReady; for a run: Succeeded, "
                  "Failed, Canceled or Running; for a notebook: Running, Stopped or Pending")
      ->required();
  cmd->add_option("--timeout", *timeout, "Give up after this long: 60, 90s, 5m (default 300s)");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      WaitOptions options;
      auto ref = parse_named_ref(
          *args, {"jobs", "trainjobs", "experiments", "inferenceservices", "runs", "notebooks"});
      if (!ref.ok()) return usage_error(ref.status());
      auto limit = parse_duration(*timeout);
      if (!limit.ok()) return usage_error(limit.status().annotate("--timeout"));
      // Says what was reached, as kubectl's "condition met", so a script's log
      // shows it; the exit status is what scripts test.
      const auto reached = [&](const std::string& state) {
        return [what = ref->display(), state](Status status) {
          if (status.ok()) std::cout << what << " is " << state << "\n";
          return status;
        };
      };
      if (ref->type.resource == "notebooks") {
        auto state = parse_notebook_state(*condition);
        if (!state.ok()) return usage_error(state.status());
        return with_coordinator(flags, [&](Coordinator& c) {
          return reached(protocol::to_string(*state))(
              wait_for_notebook(c, ref->name, *condition, *limit));
        });
      }
      if (ref->type.resource == "runs") {
        auto state = parse_run_state(*condition);
        if (!state.ok()) return usage_error(state.status());
        return with_coordinator(flags, [&](Coordinator& c) {
          return reached(protocol::to_string(*state))(
              wait_for_run(c, ref->name, *condition, *limit));
        });
      }
      if (ref->type.resource == "inferenceservices") {
        auto state = parse_service_condition(*condition);
        if (!state.ok()) return usage_error(state.status());
        return with_coordinator(flags, [&](Coordinator& c) {
          return reached(protocol::to_string(*state))(
              wait_for_service(c, ref->name, *condition, *limit));
        });
      }
      auto phase = parse_wait_condition(*condition);
      if (!phase.ok()) return usage_error(phase.status());
      options.ref = *ref;
      options.condition = *phase;
      options.timeout = *limit;
      return with_coordinator(flags, [&](Coordinator& c) {
        return reached(protocol::to_string(*phase))(wait_for_job(c, options));
      });
    };
  });
}

void add_delete(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "delete",
      "Delete a job, trainjob, experiment, inferenceservice, run or notebook (replicas are "
      "stopped; a notebook's workspace is kept), a pipeline, a recurring run, a token, or a "
      "node that is not Ready");
  auto args = std::make_shared<std::vector<std::string>>();
  auto file = std::make_shared<std::string>();
  auto* positional =
      cmd->add_option("resource", *args,
                      "job/NAME, trainjob/NAME, experiment/NAME, isvc/NAME, run/NAME, "
                      "notebook/NAME, pipeline/NAME, recurringrun/NAME, token/ID or node/NAME")
          ->expected(1, 2);
  cmd->add_option("-f,--filename", *file, "Delete what a manifest names")->excludes(positional);
  auto purge = std::make_shared<bool>(false);
  cmd->add_flag("--purge", *purge,
                "A notebook's workspace folder is removed too (only one Cadre made for it)");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      if (!file->empty()) {
        if (*purge) {
          return usage_error(InvalidArgument("--purge takes notebook/NAME, not -f FILE"));
        }
        return with_coordinator(
            flags, [&](Coordinator& c) { return delete_manifests(c, *file, std::cout); });
      }
      if (args->empty())
        return usage_error(
            InvalidArgument("delete needs job/NAME, trainjob/NAME, experiment/NAME, node/NAME "
                            "or -f FILE"));
      auto ref =
          parse_named_ref(*args, {"jobs", "trainjobs", "experiments", "inferenceservices", "runs",
                                  "recurringruns", "notebooks", "pipelines", "tokens", "nodes"});
      if (!ref.ok()) return usage_error(ref.status());
      // A purge runs a job on the workspace's node: its answer may take minutes.
      GlobalFlags patient = flags;
      if (*purge) patient.request_timeout = std::max(patient.request_timeout, 300.0);
      return with_coordinator(
          patient, [&](Coordinator& c) { return delete_resource(c, *ref, std::cout, *purge); });
    };
  });
}

void add_suspend(CLI::App& app, const GlobalFlags& flags, Action* action, bool suspend) {
  auto* cmd = app.add_subcommand(
      suspend ? "suspend" : "resume",
      suspend ? "Stop a job's or trainjob's replicas and free its nodes until it is resumed"
              : "Place a suspended job's whole gang again; it resumes from its checkpoints");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("resource", *args, "job/NAME or trainjob/NAME")->required()->expected(1, 2);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, kJobResources);
      if (!ref.ok()) return usage_error(ref.status());
      return with_coordinator(
          flags, [&](Coordinator& c) { return suspend_job(c, *ref, suspend, std::cout); });
    };
  });
}

void add_run(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("run", "Start a run of a pipeline");
  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<RunOptions>();
  auto version = std::make_shared<int32_t>(0);
  auto dry_run = std::make_shared<bool>(false);
  cmd->add_option("pipeline", *args, "pipeline/NAME")->required()->expected(1, 2);
  cmd->add_option("-p,--param", options->parameters, "A run parameter: NAME=VALUE (repeatable)");
  cmd->add_option("--name", options->name, "The run's name (default: PIPELINE-<random>)");
  cmd->add_option("--experiment", options->experiment, "Group the run under this experiment");
  cmd->add_option("--version", *version, "Run this version (default: the latest)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-n,--namespace", options->ns, "The namespace its steps run in");
  cmd->add_flag("--no-cache", options->no_cache, "Run every step, even those cached before");
  cmd->add_flag("--dry-run", *dry_run, "Print the PipelineRun manifest instead of applying it");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, {"pipelines"});
      if (!ref.ok()) return usage_error(ref.status());
      RunOptions run = *options;
      run.pipeline = ref->name;
      if (*version > 0) run.version = *version;
      if (*dry_run) {
        auto manifest = render_run_manifest(run);
        if (!manifest.ok()) return usage_error(manifest.status());
        std::cout << *manifest;
        return {Status::Ok()};
      }
      return with_coordinator(flags, [&](Coordinator& c) { return start_run(c, run, std::cout); });
    };
  });
}

void add_compare(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "compare", "Pipeline runs side by side: parameters, outputs, metrics (KFP's Compare Runs)");
  auto args = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("runs", *args, "runs NAME NAME...")->required();
  cmd->add_option("-o,--output", *output, "json");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      if (args->empty() || (lowercase((*args)[0]) != "runs" && lowercase((*args)[0]) != "run")) {
        return usage_error(InvalidArgument("usage: cadre compare runs NAME NAME..."));
      }
      if (!output->empty() && *output != "json") {
        return usage_error(InvalidArgument("-o " + *output + ": expected json"));
      }
      std::vector<std::string> names(args->begin() + 1, args->end());
      if (names.size() < 2) {
        return usage_error(InvalidArgument("compare needs two runs or more"));
      }
      return with_coordinator(flags, [&](Coordinator& c) {
        return compare_runs(c, names, !output->empty(), std::cout);
      });
    };
  });
}

void add_lineage(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "lineage",
      "Where a pipeline artifact, or the model a service serves, came from (--upstream) or went "
      "(--downstream)");
  auto target = std::make_shared<std::string>();
  auto downstream = std::make_shared<bool>(false);
  auto upstream = std::make_shared<bool>(false);
  auto depth = std::make_shared<int>(10);
  auto output = std::make_shared<std::string>();
  cmd->add_option("artifact", *target,
                  "artifact/URI (a file:// URI, as `get run -o json` shows), or isvc/NAME for the "
                  "model an InferenceService serves")
      ->required();
  auto* up = cmd->add_flag("--upstream", *upstream, "What produced it, and from what (default)");
  cmd->add_flag("--downstream", *downstream, "What consumed it, and what that made")->excludes(up);
  cmd->add_option("--depth", *depth, "Steps away from the artifact (default 10)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("-o,--output", *output, "json");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      const std::string prefix = "artifact/";
      auto service = parse_named_ref({*target}, {"inferenceservices"});
      if (!service.ok() && (target->rfind(prefix, 0) != 0 || target->size() == prefix.size())) {
        return usage_error(InvalidArgument(
            "expected artifact/URI (e.g. artifact/file:///...) or isvc/NAME, not '" + *target +
            "'"));
      }
      if (!output->empty() && *output != "json") {
        return usage_error(InvalidArgument("-o " + *output + ": expected json"));
      }
      return with_coordinator(flags, [&](Coordinator& c) -> Status {
        std::string uri = target->substr(std::min(prefix.size(), target->size()));
        if (service.ok()) {
          // JSON output stays one document: the header goes to stderr then.
          ASSIGN_OR_RETURN(
              uri, served_model_uri(c, service->name, output->empty() ? std::cout : std::cerr));
        }
        return print_lineage(c, uri, *downstream, *depth, !output->empty(), std::cout);
      });
    };
  });
}

void add_metrics(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("metrics", "Print the metric history a job reported");
  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<MetricsOptions>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("resource", *args, "job/NAME or trainjob/NAME")->required()->expected(1, 2);
  cmd->add_option("--metric", options->metric, "Only this metric (default: every one)");
  cmd->add_option("--max-points", options->max_points, "The newest this many (default 10000)")
      ->check(CLI::Range(int64_t{1}, protocol::kMaxMetricPoints));
  cmd->add_option("-o,--output", *output, "json");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, kJobResources);
      if (!ref.ok()) return usage_error(ref.status());
      if (!output->empty() && *output != "json") {
        return usage_error(InvalidArgument("-o " + *output + ": expected json"));
      }
      MetricsOptions run = *options;
      run.ref = *ref;
      run.json = !output->empty();
      return with_coordinator(flags,
                              [&](Coordinator& c) { return print_metrics(c, run, std::cout); });
    };
  });
}

void add_notebook(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* notebook = app.add_subcommand("notebook", "Open, stop or start a notebook's server")
                       ->require_subcommand(1);
  // Each subcommand takes NAME (or notebook/NAME) and runs `command` on it.
  using Command = std::function<Status(Coordinator&, const std::string&)>;
  auto add = [&](const char* verb, const char* help, Command command) {
    auto* cmd = notebook->add_subcommand(verb, help);
    auto name = std::make_shared<std::string>();
    cmd->add_option("name", *name, "NAME (or notebook/NAME)")->required();
    cmd->callback([=, &flags] {
      *action = [=, &flags]() -> Outcome {
        auto ref = parse_named_ref(
            {name->find('/') == std::string::npos ? "notebook/" + *name : *name}, {"notebooks"});
        if (!ref.ok()) return usage_error(ref.status());
        return with_coordinator(flags, [&](Coordinator& c) { return command(c, ref->name); });
      };
    });
  };
  add("open", "Print its URL with a one-time login link (valid 5 minutes, for one browser)",
      [](Coordinator& c, const std::string& name) { return open_notebook(c, name, std::cout); });
  add("stop", "Stop its server; its workspace is kept",
      [](Coordinator& c, const std::string& name) {
        return set_notebook_stopped(c, name, true, std::cout);
      });
  add("start", "Start its server again", [](Coordinator& c, const std::string& name) {
    return set_notebook_stopped(c, name, false, std::cout);
  });
}

void add_retry(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("retry", "Run a FAILED pipeline run again from its failed steps");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("run", *args, "run/NAME")->required()->expected(1, 2);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, {"runs"});
      if (!ref.ok()) return usage_error(ref.status());
      return with_coordinator(flags,
                              [&](Coordinator& c) { return retry_run(c, ref->name, std::cout); });
    };
  });
}

void add_predict(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("predict", "Send one inference request to a service");
  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<PredictOptions>();
  auto token_file = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>("60");
  cmd->add_option("resource", *args, "isvc/NAME")->required()->expected(1, 2);
  cmd->add_option("-f,--filename", options->input_file, "A V2 JSON request ('-': stdin)");
  cmd->add_option("--image", options->image_file, "A PNG or PGM image for the model's input");
  cmd->add_flag("--json", options->json, "Print the V2 answer as it came");
  cmd->add_option("--token-file", *token_file, "File with a Cadre token (default: the config's)");
  cmd->add_option("--timeout", *timeout, "Give up after this long (default 60s)");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, {"inferenceservices"});
      if (!ref.ok()) return usage_error(ref.status());
      auto limit = parse_duration(*timeout);
      if (!limit.ok()) return usage_error(limit.status().annotate("--timeout"));
      auto config = client_config(flags);
      if (!config.ok()) return {config.status()};
      PredictOptions run = *options;
      run.service = ref->name;
      run.timeout = *limit;
      run.ca_file = config->ingress_ca;
      const std::string file = token_file->empty() ? config->token_file : *token_file;
      if (!file.empty()) {
        std::ifstream in(file);
        if (!in || !std::getline(in, run.token)) {
          return {NotFound("cannot read a token from " + file)};
        }
      }
      return with_coordinator(flags, [&](Coordinator& c) -> Status {
        ASSIGN_OR_RETURN(protocol::GetReply reply,
                         c.get(protocol::GetRequest{"inferenceservices", ref->name}));
        if (reply.services.empty()) return NotFound(ref->display() + " not found");
        run.url = reply.services[0].url;
        return predict(run, std::cout);
      });
    };
  });
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"cadre: the client of a Cadre cluster (see docs/cli.md)", "cadre"};
  app.set_version_flag("--version", std::string("cadre ") + CADRE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  GlobalFlags flags;
  app.add_option("--config", flags.config,
                 "Client config file (default: $CADRE_CONFIG, ./.cadre/config, ~/.cadre/config)");
  app.add_option("--request-timeout,--timeout", flags.request_timeout,
                 "Seconds one request may wait for the coordinator (default: config, else 10); "
                 "after `wait`, --timeout is the wait's own limit");
  Action action;
  add_apply(app, flags, &action);
  add_get(app, flags, &action);
  add_describe(app, flags, &action);
  add_logs(app, flags, &action);
  add_wait(app, flags, &action);
  add_delete(app, flags, &action);
  add_suspend(app, flags, &action, true);
  add_suspend(app, flags, &action, false);
  add_run(app, flags, &action);
  add_retry(app, flags, &action);
  add_metrics(app, flags, &action);
  add_notebook(app, flags, &action);
  add_compare(app, flags, &action);
  add_lineage(app, flags, &action);
  add_predict(app, flags, &action);
  add_cluster_commands(app, flags, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (!action) return kExitUsage;
  const Outcome outcome = action();
  if (outcome.status.ok()) return 0;
  std::cerr << "error: " << outcome.status.message() << "\n";
  return outcome.usage ? kExitUsage : kExitFailed;
}

}  // namespace cadre::client

int main(int argc, char** argv) { return cadre::client::run(argc, argv); }
