/*
 * A PostgreSQL schema snapshot over the database's own session: one query
 * over pg_catalog giving every object a migration can make as canonical
 * text, sorted, in the shape pg_dump --schema-only writes them (the
 * server's pg_get_*def() where it has one), ownership and privileges left
 * out as the schema dump leaves them out, and strata's tables and the
 * sequences they own left out. Cheap enough to take after every step of
 * strata test, where a pg_dump process per step cost many times the
 * migrations themselves; two snapshots are equal exactly when the objects
 * they describe are.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup_pg.h"
#include "backup/schema.h"

#include <string.h>

/*
 * Everything is named in full (search_path empty, as pg_dump sets it) and
 * values are written as pg_dump writes them, whatever the migrations set
 * in the session; a transaction of its own makes that last only for it.
 */
static const char snapshot_begin[] =
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
        " SELECT pg_catalog.set_config('strata.own',"
        " coalesce(pg_catalog.string_agg(o::pg_catalog.oid::pg_catalog.text, ','), ''),"
        " true) FROM (SELECT NULL::pg_catalog.regclass";
static const char snapshot_settings[] = ") r(o) WHERE o IS NOT NULL;"
                                        " SET LOCAL search_path = '';"
                                        " SET LOCAL DateStyle = ISO;"
                                        " SET LOCAL IntervalStyle = postgres;"
                                        " SET LOCAL extra_float_digits = 3";

/*
 * Each object as (sort key, text). Column options: only those PostgreSQL
 * defines (a server may keep private ones there that no DDL sets and
 * pg_dump does not show). Extension members are the extension's.
 */
static const char snapshot_sql
        [] = "WITH own_rel(oid) AS (SELECT pg_catalog.unnest(pg_catalog.string_to_array("
             "pg_catalog.current_setting('strata.own'), ','))::pg_catalog.oid),"
             " own(oid) AS ("
             " SELECT c.oid FROM pg_catalog.pg_class c"
             " WHERE c.oid IN (SELECT oid FROM own_rel)"
             " OR (c.relkind = 'S' AND c.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d"
             " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
             " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
             " AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT oid FROM own_rel)))),"
             " ext AS MATERIALIZED (SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),"
             " ns AS (SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n"
             " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
             " AND (n.oid, 'pg_catalog.pg_namespace'::pg_catalog.regclass) NOT IN (SELECT objid, classid FROM ext)),"
             " rel AS (SELECT c.* FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace"
             " WHERE c.oid NOT IN (SELECT oid FROM own)"
             " AND c.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass)),"
             " typ AS (SELECT t.* FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
             " WHERE t.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass)),"
             " coll(oid, name) AS (SELECT co.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(co.collname)"
             " FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace)"
             " SELECT k, d FROM ("
             " SELECT '1 ' || ns.nspname AS k, 'CREATE SCHEMA ' || pg_catalog.quote_ident(ns.nspname) || ';' AS d FROM ns"
             " UNION ALL"
             " SELECT '2 ' || e.extname, 'CREATE EXTENSION ' || pg_catalog.quote_ident(e.extname)"
             " || ' WITH SCHEMA ' || pg_catalog.quote_ident(n.nspname) || ' VERSION ' || pg_catalog.quote_literal(e.extversion) || ';'"
             " FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
             " UNION ALL"
             " SELECT '3 ' || t.oid::pg_catalog.regtype::text, CASE t.typtype"
             " WHEN 'e' THEN 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' AS ENUM ('"
             " || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(l.enumlabel), ', ' ORDER BY l.enumsortorder)"
             " FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid), '') || ');'"
             " WHEN 'd' THEN 'CREATE DOMAIN ' || t.oid::pg_catalog.regtype::text || ' AS '"
             " || pg_catalog.format_type(t.typbasetype, t.typtypmod)"
             " || coalesce(' COLLATE ' || (SELECT name FROM coll WHERE coll.oid = t.typcollation"
             " AND t.typcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = t.typbasetype)), '')"
             " || coalesce(' DEFAULT ' || t.typdefault, '') || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END || ';'"
             " WHEN 'c' THEN 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' AS ('"
             " || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '"
             " || pg_catalog.format_type(a.atttypid, a.atttypmod)"
             " || coalesce(' COLLATE ' || (SELECT name FROM coll WHERE coll.oid = a.attcollation"
             " AND a.attcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = a.atttypid)), ''),"
             " ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a"
             " WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ');'"
             " WHEN 'r' THEN 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' AS RANGE (SUBTYPE = '"
             " || pg_catalog.format_type(r.rngsubtype, NULL)"
             " || coalesce(', COLLATION = ' || (SELECT name FROM coll WHERE coll.oid = r.rngcollation), '')"
             " || ', SUBTYPE_OPCLASS = ' || (SELECT pg_catalog.quote_ident(o.opcname) FROM pg_catalog.pg_opclass o WHERE o.oid = r.rngsubopc)"
             " || coalesce(', CANONICAL = ' || NULLIF(r.rngcanonical::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', SUBTYPE_DIFF = ' || NULLIF(r.rngsubdiff::oid, 0)::pg_catalog.regprocedure::text, '') || ');'"
             " ELSE 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' (INPUT = ' || t.typinput::text"
             " || ', OUTPUT = ' || t.typoutput::text || ', RECEIVE = ' || t.typreceive::text || ', SEND = ' || t.typsend::text"
             " || ', INTERNALLENGTH = ' || t.typlen || ', ALIGNMENT = ' || t.typalign::text || ', STORAGE = ' || t.typstorage::text::text"
             " || ', CATEGORY = ' || pg_catalog.quote_literal(t.typcategory::text) || ', DEFINED = ' || t.typisdefined || ');'"
             " END"
             " FROM typ t LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid"
             " WHERE t.typtype IN ('b', 'e', 'd', 'r')"
             " AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid))"
             " OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM rel WHERE rel.oid = t.typrelid AND rel.relkind = 'c'))"
             " UNION ALL"
             " SELECT '4 ' || c.oid::pg_catalog.regclass::text,"
             " 'CREATE ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END"
             " || CASE c.relkind WHEN 'f' THEN 'FOREIGN TABLE ' WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW ' ELSE 'TABLE ' END"
             " || c.oid::pg_catalog.regclass::text || ' ('"
             " || coalesce(E'\\n' || (SELECT pg_catalog.string_agg('    ' || pg_catalog.quote_ident(a.attname) || ' '"
             " || pg_catalog.format_type(a.atttypid, a.atttypmod)"
             " || coalesce(' COLLATE ' || (SELECT name FROM coll WHERE coll.oid = a.attcollation AND a.attcollation <> ty.typcollation), '')"
             " || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'"
             " ELSE coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '') END"
             " || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END"
             " || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END"
             " || CASE WHEN coalesce(a.attstattarget::int, -1) >= 0 THEN ' STATISTICS ' || a.attstattarget ELSE '' END"
             " || CASE WHEN a.attstorage <> ty.typstorage THEN ' STORAGE ' || a.attstorage::text ELSE '' END"
             " || coalesce(' OPTIONS (' || (SELECT pg_catalog.string_agg(o, ', ' ORDER BY o) FROM pg_catalog.unnest(a.attoptions) o"
             " WHERE o ~ '^n_distinct(_inherited)?=') || ')', '')"
             " || coalesce(' FDW OPTIONS (' || pg_catalog.array_to_string(a.attfdwoptions, ', ') || ')', '')"
             " || CASE WHEN NOT a.attislocal THEN ' INHERITED' ELSE '' END,"
             " E',\\n' ORDER BY a.attnum)"
             " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"
             " LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
             " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')"
             " || E'\\n)'"
             " || CASE WHEN c.relkind = 'p' THEN ' PARTITION BY ' || pg_catalog.pg_get_partkeydef(c.oid) ELSE '' END"
             " || coalesce(' INHERITS (' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)"
             " FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) || ')', '')"
             " || coalesce(' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid), '')"
             " || coalesce(' USING ' || (SELECT am.amname FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND c.relkind IN ('r', 'm')), '')"
             " || coalesce(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')"
             " || coalesce(' TABLESPACE ' || (SELECT pg_catalog.quote_ident(s.spcname) FROM pg_catalog.pg_tablespace s WHERE s.oid = c.reltablespace), '')"
             " || coalesce(' SERVER ' || (SELECT pg_catalog.quote_ident(s.srvname) || coalesce(' OPTIONS (' || pg_catalog.array_to_string(f.ftoptions, ', ') || ')', '')"
             " FROM pg_catalog.pg_foreign_table f JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid), '')"
             " || coalesce(E' AS\\n' || pg_catalog.rtrim(pg_catalog.pg_get_viewdef(c.oid), ';'), '')"
             " || ';'"
             " || CASE WHEN c.relrowsecurity THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' ENABLE ROW LEVEL SECURITY;' ELSE '' END"
             " || CASE WHEN c.relforcerowsecurity THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' FORCE ROW LEVEL SECURITY;' ELSE '' END"
             " || CASE WHEN c.relkind NOT IN ('r', 'p') THEN '' ELSE CASE c.relreplident WHEN 'n' THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' REPLICA IDENTITY NOTHING;'"
             " WHEN 'f' THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' REPLICA IDENTITY FULL;' ELSE '' END END"
             " FROM rel c WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')"
             " UNION ALL"
             " SELECT '4 ' || c.oid::pg_catalog.regclass::text,"
             " 'CREATE ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END || 'SEQUENCE ' || c.oid::pg_catalog.regclass::text"
             " || ' AS ' || pg_catalog.format_type(s.seqtypid, NULL) || ' START WITH ' || s.seqstart || ' INCREMENT BY ' || s.seqincrement"
             " || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END || ';'"
             " || coalesce((SELECT pg_catalog.string_agg(E'\\nALTER SEQUENCE ' || c.oid::pg_catalog.regclass::text"
             " || CASE d.deptype WHEN 'i' THEN ' IDENTITY OF ' ELSE ' OWNED BY ' END"
             " || d.refobjid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) || ';', '')"
             " FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
             " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid"
             " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')), '')"
             " FROM rel c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid"
             " UNION ALL"
             " SELECT '5 ' || p.oid::pg_catalog.regprocedure::text,"
             " CASE WHEN p.prokind = 'a' THEN 'CREATE AGGREGATE ' || p.oid::pg_catalog.regprocedure::text"
             " || ' (SFUNC = ' || g.aggtransfn::pg_catalog.regprocedure::text || ', STYPE = ' || pg_catalog.format_type(g.aggtranstype, NULL)"
             " || ', KIND = ' || g.aggkind::text || ', DIRECT ARGS = ' || g.aggnumdirectargs"
             " || coalesce(', FINALFUNC = ' || NULLIF(g.aggfinalfn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', COMBINEFUNC = ' || NULLIF(g.aggcombinefn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', SERIALFUNC = ' || NULLIF(g.aggserialfn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', DESERIALFUNC = ' || NULLIF(g.aggdeserialfn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', MSFUNC = ' || NULLIF(g.aggmtransfn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', MINVFUNC = ' || NULLIF(g.aggminvtransfn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', MFINALFUNC = ' || NULLIF(g.aggmfinalfn::oid, 0)::pg_catalog.regprocedure::text, '')"
             " || coalesce(', MSTYPE = ' || pg_catalog.format_type(NULLIF(g.aggmtranstype, 0), NULL), '')"
             " || coalesce(', SORTOP = ' || NULLIF(g.aggsortop, 0)::pg_catalog.regoperator::text, '')"
             " || coalesce(', INITCOND = ' || pg_catalog.quote_literal(g.agginitval), '')"
             " || coalesce(', MINITCOND = ' || pg_catalog.quote_literal(g.aggminitval), '')"
             " || ', PARALLEL = ' || p.proparallel::text || ');'"
             " ELSE pg_catalog.rtrim(pg_catalog.pg_get_functiondef(p.oid), E'\\n') || ';' END"
             " FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace"
             " LEFT JOIN pg_catalog.pg_aggregate g ON g.aggfnoid = p.oid"
             " WHERE p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)"
             " UNION ALL"
             " SELECT '6 ' || i.indrelid::pg_catalog.regclass::text || ' ' || c.relname,"
             " pg_catalog.pg_get_indexdef(i.indexrelid) || ';'"
             " || CASE WHEN i.indisclustered THEN E'\\nALTER TABLE ' || i.indrelid::pg_catalog.regclass::text || ' CLUSTER ON ' || pg_catalog.quote_ident(c.relname) || ';' ELSE '' END"
             " || CASE WHEN i.indisreplident THEN E'\\nALTER TABLE ' || i.indrelid::pg_catalog.regclass::text || ' REPLICA IDENTITY USING INDEX ' || pg_catalog.quote_ident(c.relname) || ';' ELSE '' END"
             " || CASE WHEN NOT i.indisvalid THEN E'\\n-- invalid' ELSE '' END"
             " FROM pg_catalog.pg_index i JOIN rel c ON c.oid = i.indexrelid"
             " WHERE i.indrelid IN (SELECT oid FROM rel)"
             " UNION ALL"
             " SELECT '7 ' || co.conrelid::pg_catalog.regclass::text || ' ' || co.conname,"
             " 'ALTER TABLE ONLY ' || co.conrelid::pg_catalog.regclass::text || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(co.conname)"
             " || ' ' || pg_catalog.pg_get_constraintdef(co.oid) || ';' || CASE WHEN NOT co.conislocal THEN ' -- inherited' ELSE '' END"
             " FROM pg_catalog.pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rel)"
             " UNION ALL"
             " SELECT '7 ' || co.contypid::pg_catalog.regtype::text || ' ' || co.conname,"
             " 'ALTER DOMAIN ' || co.contypid::pg_catalog.regtype::text || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(co.conname)"
             " || ' ' || pg_catalog.pg_get_constraintdef(co.oid) || ';'"
             " FROM pg_catalog.pg_constraint co WHERE co.contypid IN (SELECT oid FROM typ)"
             " UNION ALL"
             " SELECT '8 ' || tg.tgrelid::pg_catalog.regclass::text || ' ' || tg.tgname,"
             " pg_catalog.pg_get_triggerdef(tg.oid) || ';'"
             " || CASE tg.tgenabled WHEN 'D' THEN E'\\n-- disabled' WHEN 'R' THEN E'\\n-- enabled replica' WHEN 'A' THEN E'\\n-- enabled always' ELSE '' END"
             " FROM pg_catalog.pg_trigger tg WHERE NOT tg.tgisinternal AND tg.tgrelid IN (SELECT oid FROM rel)"
             " UNION ALL"
             " SELECT '9 ' || po.polrelid::pg_catalog.regclass::text || ' ' || po.polname,"
             " 'CREATE POLICY ' || pg_catalog.quote_ident(po.polname) || ' ON ' || po.polrelid::pg_catalog.regclass::text"
             " || CASE WHEN po.polpermissive THEN '' ELSE ' AS RESTRICTIVE' END"
             " || ' FOR ' || CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END"
             " || ' TO ' || (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY 1)"
             " FROM pg_catalog.unnest(po.polroles) r)"
             " || coalesce(' USING (' || pg_catalog.pg_get_expr(po.polqual, po.polrelid) || ')', '')"
             " || coalesce(' WITH CHECK (' || pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid) || ')', '') || ';'"
             " FROM pg_catalog.pg_policy po WHERE po.polrelid IN (SELECT oid FROM rel)"
             " UNION ALL"
             " SELECT 'a ' || ru.ev_class::pg_catalog.regclass::text || ' ' || ru.rulename,"
             " pg_catalog.pg_get_ruledef(ru.oid) || CASE WHEN ru.ev_enabled <> 'O' THEN E'\\n-- enabled ' || ru.ev_enabled::text ELSE '' END"
             " FROM pg_catalog.pg_rewrite ru WHERE ru.rulename <> '_RETURN' AND ru.ev_class IN (SELECT oid FROM rel)"
             " UNION ALL"
             " SELECT 'b ' || pg_catalog.pg_describe_object(s.tableoid, s.oid, 0), pg_catalog.pg_get_statisticsobjdef(s.oid) || ';'"
             " FROM pg_catalog.pg_statistic_ext s WHERE s.stxrelid IN (SELECT oid FROM rel)"
             " UNION ALL"
             " SELECT 'c ' || pg_catalog.pg_describe_object(o.classid, o.objid, 0), pg_catalog.pg_describe_object(o.classid, o.objid, 0) || coalesce(' ' || o.detail, '')"
             " FROM ("
             " SELECT x.tableoid AS classid, x.oid AS objid, pg_catalog.format('%s WITH %s AS %s',"
             " CASE x.castmethod WHEN 'f' THEN x.castfunc::pg_catalog.regprocedure::text WHEN 'i' THEN 'INOUT' ELSE 'BINARY' END,"
             " x.castcontext, x.castmethod) AS detail FROM pg_catalog.pg_cast x WHERE x.oid >= 16384"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('FUNCTION %s COMMUTATOR %s NEGATOR %s RESTRICT %s JOIN %s HASHES %s MERGES %s',"
             " x.oprcode::oid::pg_catalog.regprocedure, x.oprcom::pg_catalog.regoperator, x.oprnegate::pg_catalog.regoperator,"
             " x.oprrest, x.oprjoin, x.oprcanhash, x.oprcanmerge)"
             " FROM pg_catalog.pg_operator x JOIN ns ON ns.oid = x.oprnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, (pg_catalog.to_jsonb(x) - 'oid' - 'collnamespace' - 'collowner')::text"
             " FROM pg_catalog.pg_collation x JOIN ns ON ns.oid = x.collnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_opclass x JOIN ns ON ns.oid = x.opcnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_opfamily x JOIN ns ON ns.oid = x.opfnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, x.conproc::text FROM pg_catalog.pg_conversion x JOIN ns ON ns.oid = x.connamespace"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_ts_config x JOIN ns ON ns.oid = x.cfgnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, x.dictinitoption FROM pg_catalog.pg_ts_dict x JOIN ns ON ns.oid = x.dictnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_ts_parser x JOIN ns ON ns.oid = x.prsnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_ts_template x JOIN ns ON ns.oid = x.tmplnamespace"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('ON %s EXECUTE %s ENABLED %s TAGS %s',"
             " x.evtevent, x.evtfoid::pg_catalog.regprocedure, x.evtenabled, x.evttags) FROM pg_catalog.pg_event_trigger x"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('HANDLER %s VALIDATOR %s OPTIONS %s',"
             " x.fdwhandler, x.fdwvalidator, x.fdwoptions) FROM pg_catalog.pg_foreign_data_wrapper x WHERE x.oid >= 16384"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('TYPE %s VERSION %s OPTIONS %s', x.srvtype, x.srvversion, x.srvoptions)"
             " FROM pg_catalog.pg_foreign_server x"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('OPTIONS %s', x.umoptions) FROM pg_catalog.pg_user_mapping x"
             " UNION ALL SELECT x.tableoid, x.oid, (pg_catalog.to_jsonb(x) - 'oid' - 'pubowner')::text"
             " FROM pg_catalog.pg_publication x"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_publication_rel x"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('HANDLER %s TYPE %s', x.amhandler, x.amtype)"
             " FROM pg_catalog.pg_am x WHERE x.oid >= 16384"
             " UNION ALL SELECT x.tableoid, x.oid, NULL FROM pg_catalog.pg_transform x"
             " UNION ALL SELECT x.tableoid, x.oid, pg_catalog.format('TRUSTED %s HANDLER %s INLINE %s VALIDATOR %s',"
             " x.lanpltrusted, x.lanplcallfoid::pg_catalog.regprocedure, x.laninline::pg_catalog.regprocedure, x.lanvalidator::pg_catalog.regprocedure)"
             " FROM pg_catalog.pg_language x WHERE x.oid >= 16384"
             " ) o WHERE (o.classid, o.objid) NOT IN (SELECT classid, objid FROM ext)"
             " UNION ALL"
             " SELECT 'd ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid),"
             " 'COMMENT ON ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' IS ' || pg_catalog.quote_literal(d.description) || ';'"
             " FROM pg_catalog.pg_description d"
             " WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid IN (SELECT oid FROM ns)))"
             " AND NOT (d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objoid IN (SELECT oid FROM own))"
             " AND (d.classoid, d.objoid) NOT IN (SELECT classid, objid FROM ext)"
             " ) s ORDER BY k COLLATE \"C\", d COLLATE \"C\"";

/* Prepared once a session: planning it cost more than running it. */
#define SNAPSHOT_STATEMENT "strata_schema_snapshot"

int pgschema_snapshot(struct sbuf *out, struct strata_db *db, bool *is_prepared,
                      struct strata_error *err)
{
	PGconn *pg = session_of(db->conn);
	const struct table_name *own[4];
	struct sbuf sql = SBUF_INIT;
	PGresult *res = NULL;
	bool is_begun = false;
	int rc = -1;

	if (!*is_prepared) {
		res = PQprepare(pg, SNAPSHOT_STATEMENT, snapshot_sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pgsession_error(err, pg, res);
			goto done;
		}
		PQclear(res);
		res = NULL;
		*is_prepared = true;
	}
	sbuf_adds(&sql, snapshot_begin);
	schema_own_tables(db, own);
	for (size_t i = 0; i < 3 && own[i]; i++) {
		char *lit = PQescapeLiteral(pg, own[i]->quoted,
		                            strlen(own[i]->quoted));

		if (!lit) {
			pgsession_error(err, pg, NULL);
			goto done;
		}
		sbuf_addf(&sql, " UNION ALL SELECT pg_catalog.to_regclass(%s)",
		          lit);
		PQfreemem(lit);
	}
	sbuf_adds(&sql, snapshot_settings);
	is_begun = true;
	if (pgsession_run(pg, sql.buf, err) < 0)
		goto done;
	res = PQexecPrepared(pg, SNAPSHOT_STATEMENT, 0, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto done;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		sbuf_adds(out, PQgetvalue(res, i, 1));
		sbuf_adds(out, "\n\n");
	}
	rc = pgsession_run(pg, "COMMIT", err);
	is_begun = false;
done:
	/* a failed transaction of ours must not outlive the call */
	if (is_begun)
		PQclear(PQexec(pg, "ROLLBACK"));
	PQclear(res);
	sbuf_release(&sql);
	return rc;
}
