-- Load a workload (ndjson GeoJSON features) as geography columns with GiST indexes.
-- psql variables: dir (workload directory).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
DROP TABLE IF EXISTS raw_sites, raw_zones, raw_actives, raw_queries, sites, zones, actives, queries;
CREATE UNLOGGED TABLE raw_sites (j jsonb);
CREATE UNLOGGED TABLE raw_zones (j jsonb);
CREATE UNLOGGED TABLE raw_actives (j jsonb);
CREATE UNLOGGED TABLE raw_queries (j jsonb);
\set f :dir '/sites.ndjson'
COPY raw_sites (j) FROM :'f';
\set f :dir '/zones.ndjson'
COPY raw_zones (j) FROM :'f';
\set f :dir '/actives.ndjson'
COPY raw_actives (j) FROM :'f';
\set f :dir '/queries.ndjson'
COPY raw_queries (j) FROM :'f';

CREATE TABLE sites AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g,
         (j->'properties'->>'radius_m')::float8 AS radius
  FROM raw_sites;
CREATE TABLE zones AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g
  FROM raw_zones;
CREATE TABLE actives AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g,
         (j->'properties'->>'buffer_m')::float8 AS buf,
         (j->'properties'->>'t_start')::bigint AS t0,
         (j->'properties'->>'t_end')::bigint AS t1,
         (j->'properties'->>'alt_min_m')::float8 AS a0,
         (j->'properties'->>'alt_max_m')::float8 AS a1,
         (j->'properties'->>'party')::int AS party
  FROM raw_actives;
CREATE TABLE queries AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g,
         (j->'properties'->>'buffer_m')::float8 AS buf,
         (j->'properties'->>'t_start')::bigint AS t0,
         (j->'properties'->>'t_end')::bigint AS t1,
         (j->'properties'->>'alt_min_m')::float8 AS a0,
         (j->'properties'->>'alt_max_m')::float8 AS a1,
         (j->'properties'->>'party')::int AS party
  FROM raw_queries;
DROP TABLE raw_sites, raw_zones, raw_actives, raw_queries;
CREATE INDEX sites_g ON sites USING gist (g);
CREATE INDEX zones_g ON zones USING gist (g);
CREATE INDEX actives_g ON actives USING gist (g);
ALTER TABLE queries ADD PRIMARY KEY (id);
VACUUM ANALYZE sites;
VACUUM ANALYZE zones;
VACUUM ANALYZE actives;
VACUUM ANALYZE queries;
