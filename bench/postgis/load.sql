-- Load a workload (ndjson GeoJSON features) as geography columns with GiST indexes.
-- psql variables: dir (workload directory).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
DROP TABLE IF EXISTS gb_raw_sites, gb_raw_zones, gb_raw_actives, gb_raw_queries, gb_sites, gb_zones, gb_actives, gb_queries;
CREATE UNLOGGED TABLE gb_raw_sites (j jsonb);
CREATE UNLOGGED TABLE gb_raw_zones (j jsonb);
CREATE UNLOGGED TABLE gb_raw_actives (j jsonb);
CREATE UNLOGGED TABLE gb_raw_queries (j jsonb);
\set f :dir '/sites.ndjson'
COPY gb_raw_sites (j) FROM :'f';
\set f :dir '/zones.ndjson'
COPY gb_raw_zones (j) FROM :'f';
\set f :dir '/actives.ndjson'
COPY gb_raw_actives (j) FROM :'f';
\set f :dir '/queries.ndjson'
COPY gb_raw_queries (j) FROM :'f';

CREATE TABLE gb_sites AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g,
         (j->'properties'->>'radius_m')::float8 AS radius
  FROM gb_raw_sites;
CREATE TABLE gb_zones AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g
  FROM gb_raw_zones;
CREATE TABLE gb_actives AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g,
         (j->'properties'->>'buffer_m')::float8 AS buf,
         (j->'properties'->>'t_start')::bigint AS t0,
         (j->'properties'->>'t_end')::bigint AS t1,
         (j->'properties'->>'alt_min_m')::float8 AS a0,
         (j->'properties'->>'alt_max_m')::float8 AS a1,
         (j->'properties'->>'party')::int AS party
  FROM gb_raw_actives;
CREATE TABLE gb_queries AS
  SELECT (j->>'id')::bigint AS id,
         ST_GeomFromGeoJSON(j->'geometry')::geography AS g,
         (j->'properties'->>'buffer_m')::float8 AS buf,
         (j->'properties'->>'t_start')::bigint AS t0,
         (j->'properties'->>'t_end')::bigint AS t1,
         (j->'properties'->>'alt_min_m')::float8 AS a0,
         (j->'properties'->>'alt_max_m')::float8 AS a1,
         (j->'properties'->>'party')::int AS party
  FROM gb_raw_queries;
DROP TABLE gb_raw_sites, gb_raw_zones, gb_raw_actives, gb_raw_queries;
CREATE INDEX gb_sites_g ON gb_sites USING gist (g);
CREATE INDEX gb_zones_g ON gb_zones USING gist (g);
CREATE INDEX gb_actives_g ON gb_actives USING gist (g);
ALTER TABLE gb_queries ADD PRIMARY KEY (id);
VACUUM ANALYZE gb_sites;
VACUUM ANALYZE gb_zones;
VACUUM ANALYZE gb_actives;
VACUUM ANALYZE gb_queries;
