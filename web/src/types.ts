// The objects /api/v1/ returns: the shapes `cadre get KIND -o json` prints.

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string | null;
}

export interface ClusterEvent {
  time: string | null;
  type: string;
  reason: string;
  message: string;
}

export interface ClusterNode {
  name: string;
  state: string;
  unschedulable?: boolean; // cordoned: nothing new is placed there
  address: string;
  cpus: number;
  memory: number;
  gpus: number;
  gpuModels: string[];
  labels: Record<string, string>;
  allocated: { cpus: number; memory: number; gpus: number };
  lastHeartbeat: string | null;
  replicas: string[]; // uids alive there, as its last heartbeat said
}

// A quota's or limit's amounts; null: unlimited.
export interface Amounts {
  cpus: number | null;
  memory: number | null;
  gpus: number | null;
}

// A scheduling queue (cadre get queues -o json).
export interface Queue {
  name: string;
  cohort: string;
  quota: Amounts;
  borrowingLimit: Amounts;
  reclaimWithinCohort: string;
  used: { cpus: number; memory: number; gpus: number };
  borrowing: boolean;
  pending: number;
  admitted: number;
}

export interface Replica {
  name: string;
  type: string;
  index: number;
  rank: number;
  state: string;
  node: string;
  address: string;
  port: number;
  gpuIndices: number[];
  exitCode: number | null;
  reason: string;
  restarts: number;
  startedAt: string | null;
}

export interface Job {
  name: string;
  namespace: string;
  kind: string;
  phase: string;
  reason: string;
  message: string;
  node: string;
  metrics: Record<string, number>;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  restarts: number;
  priority: number;
  queue: string;
  owner: string;
  conditions: Condition[];
  replicas: Replica[];
  events?: ClusterEvent[];
}

export interface Trial {
  name: string;
  parameters: Record<string, string>;
  phase: string;
  reason: string;
  objective: number | null;
  metrics: Record<string, number | null>;
  epochs: number;
  rung: number;
  jobs: string[];
  curve: { step: number; value: number | null }[];
  createdAt: string | null;
  finishedAt: string | null;
}

export interface Experiment {
  name: string;
  phase: string;
  reason: string;
  message: string;
  algorithm: string;
  objective: { metric: string; type: string };
  createdAt: string | null;
  finishedAt: string | null;
  counts: Record<string, number>;
  bestTrial: { name: string; parameters: Record<string, string>; objective: number | null } | null;
  conditions: Condition[];
  trials?: Trial[];
  events?: ClusterEvent[];
}

export interface Service {
  name: string;
  url: string;
  ready: boolean;
  traffic: { revisionName: string; percent: number; latestRevision: boolean }[];
  replicas: { name: string; revision: string; state: string; node: string; port: number; message: string }[];
  revisions: {
    name: string;
    modelFormat: string;
    storageUri: string;
    desiredReplicas: number;
    readyReplicas: number;
    createdAt: string | null;
  }[];
  conditions: Condition[];
  createdAt: string | null;
  events?: ClusterEvent[];
}

export interface Artifact {
  name: string;
  uri: string;
  type: string;
  metadata: unknown;
}

export interface Task {
  id: string;
  name: string;
  parent: string;
  kind: string;
  component: string;
  state: string;
  cached: boolean;
  cachedFrom: string;
  attempts: number;
  job: string;
  workload: string; // what it ran, as "trainjob/NAME"; "" before it started
  message: string;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  upstream: string[];
  outputArtifacts: Artifact[];
  createdAt: string | null;
  startedAt?: string;
  finishedAt?: string;
}

// GET /api/v1/lineage: the steps around an artifact and the edges between them
// ("" is the artifact itself).
export interface LineageExecution {
  run: string;
  pipeline: string;
  task: string;
  component: string;
  state: string;
  job: string;
  cached: boolean;
  inputArtifacts: { name: string; uri: string }[];
  outputArtifacts: { name: string; uri: string }[];
}

export interface Lineage {
  artifact: string;
  direction: "upstream" | "downstream";
  executions: LineageExecution[];
  edges: { from: string; to: string; artifact: string }[];
}

export interface Run {
  name: string;
  pipeline: string;
  pipelineVersion: number;
  experiment: string;
  state: string;
  message: string;
  parameters: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  createdAt: string | null;
  startedAt?: string;
  finishedAt?: string;
  steps: { total: number; succeeded: number; failed: number; skipped: number; cached: number };
  tasks?: Task[];
  events?: ClusterEvent[];
}

export interface Pipeline {
  name: string;
  description: string;
  latestVersion: number;
  createdAt: string | null;
  parameters: { name: string; type: string; optional: boolean }[];
}

export interface Notebook {
  name: string;
  state: string;
  reason: string;
  message: string;
  ready: boolean;
  url: string;
  node: string;
  gpus: number;
  workspace: string;
  restarts: number;
  lastActivity: string | null;
  createdAt: string | null;
}
