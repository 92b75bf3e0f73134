-- Operation Center and Algorithm Center: worker nodes, edge pools, algorithm deployments and
-- bring-your-own model packages. JSON lists and objects are TEXT; the model file is base64 TEXT
-- (as alarm pictures), so both backends share one type and every node can fetch it.
CREATE TABLE nodes (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  cpu BIGINT NOT NULL DEFAULT 0, arch TEXT NOT NULL DEFAULT '', memory BIGINT NOT NULL DEFAULT 0,
  gpu_info TEXT NOT NULL DEFAULT '[]', npu_info TEXT NOT NULL DEFAULT '[]', version TEXT NOT NULL DEFAULT '',
  pools TEXT NOT NULL DEFAULT '[]', lease_ttl BIGINT NOT NULL DEFAULT 15000,
  started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL);
CREATE TABLE edge_pools (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  ief_service_instance_id TEXT NOT NULL DEFAULT '', nodes TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (project_id, name));
CREATE TABLE algorithm_deployments (
  project_id TEXT NOT NULL, alg_id TEXT NOT NULL, pool_id TEXT NOT NULL DEFAULT '',
  stream_count BIGINT NOT NULL DEFAULT 0, deploy_config TEXT NOT NULL DEFAULT '{}', envs TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, alg_id));
CREATE TABLE model_packages (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
  manifest TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL, model_base64 TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (project_id, name, version));
