#!/usr/bin/env bash
# Concurrency check of graphql.table_versions (src/change_counters.rs), run by hand against a
# cluster with shared_preload_libraries = 'graft' and the extension created in the database:
#
#   scripts/change-counters-race.sh [-p PORT] [-d DB] [-n COMMITS] [-r ROUNDS] [--wrong-order]
#
# Two writers commit COMMITS single-row inserts each (one into race.t, one into partition
# race.p1 of race.p) while a reader polls as the sidecar does: read the versions of race.t and
# race.p, and only when they changed re-read the data in a LATER statement. At every poll the
# data held must contain at least the commits its versions count, and after the writers are
# done one last poll must leave the reader with all the data (no missed change).
# --wrong-order reads the data before the versions (the mistake the ordering rule prevents); it
# is a control: it should report missed changes in some rounds.
# Uses schema race (dropped and recreated). Needs psql on PATH or PG_BINDIR.
set -euo pipefail
PORT=5432 DB=postgres N=2000 ROUNDS=3 ORDER=right
while [ $# -gt 0 ]; do
    case "$1" in
        -p) PORT="$2"; shift ;;
        -d) DB="$2"; shift ;;
        -n) N="$2"; shift ;;
        -r) ROUNDS="$2"; shift ;;
        --wrong-order) ORDER=wrong ;;
        *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
    shift
done
PSQL="${PG_BINDIR:+$PG_BINDIR/}psql"
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d "$DB" "$@"; }

q <<'SQL'
DROP SCHEMA IF EXISTS race CASCADE;
CREATE SCHEMA race;
CREATE TABLE race.t (i int);
CREATE TABLE race.p (k int) PARTITION BY RANGE (k);
CREATE TABLE race.p1 PARTITION OF race.p FOR VALUES FROM (0) TO (1000000000);
CREATE TABLE race.done (who text);
CREATE PROCEDURE race.write(target regclass, n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    EXECUTE format('INSERT INTO %s VALUES ($1)', target) USING i;
    COMMIT;
  END LOOP;
  INSERT INTO race.done VALUES (target::text);
  COMMIT;
END $$;
SQL
if [ "$(q -At -c "SELECT graphql.table_versions(ARRAY['race.t'::regclass]::oid[]) IS NULL")" = t ]; then
    echo "graphql.table_versions is NULL here: graft is not preloaded (or change tracking is off)" >&2
    exit 2
fi

# The check below counts commits per table: the two tables must not share a counter.
q -At -c "SELECT graphql.table_versions(ARRAY['race.p'::regclass]::oid[]) AS p0" -c "INSERT INTO race.t VALUES (0)" \
      -c "SELECT graphql.table_versions(ARRAY['race.p'::regclass]::oid[]) AS p1" | sort -u | wc -l | grep -qx 1 ||
    { echo "race.t and race.p share a counter slot: run again (new oids)" >&2; exit 2; }

failures=0
for round in $(seq 1 "$ROUNDS"); do
    q -c "TRUNCATE race.t, race.p, race.done"
    # The reader: a DO block, each statement of which takes a new snapshot (READ COMMITTED).
    q -At > "/tmp/change-counters-race.$$" 2>&1 <<SQL &
DO \$\$
DECLARE
  tables oid[] := ARRAY['race.t'::regclass, 'race.p'::regclass]::oid[];
  v0 bigint[] := graphql.table_versions(tables);
  v bigint[]; last bigint[]; t bigint := -1; p bigint := -1;
  polls int := 0; fetches int := 0; behind int := 0; finished bool := false;
BEGIN
  LOOP
    finished := (SELECT count(*) FROM race.done) = 2;
    IF '$ORDER' = 'right' THEN
      v := graphql.table_versions(tables);
      IF v IS DISTINCT FROM last THEN
        t := (SELECT count(*) FROM race.t);
        p := (SELECT count(*) FROM race.p);
        last := v; fetches := fetches + 1;
      END IF;
    ELSIF last IS NULL OR last IS DISTINCT FROM graphql.table_versions(tables) THEN
      -- Wrong: the data first, then the versions it is filed under.
      t := (SELECT count(*) FROM race.t);
      p := (SELECT count(*) FROM race.p);
      last := graphql.table_versions(tables); fetches := fetches + 1;
    END IF;
    -- Each commit adds 1 to its table's counter (the tables' slots differ, checked above):
    -- data filed under a version must hold at least the commits that version counts.
    IF t < last[1] - v0[1] OR p < last[2] - v0[2] THEN
      behind := behind + 1;
    END IF;
    polls := polls + 1;
    -- The poll that began after both writers were done is the last one.
    EXIT WHEN finished;
  END LOOP;
  RAISE NOTICE 'polls % fetches % behind % t % p %', polls, fetches, behind, t, p;
END \$\$;
SQL
    reader=$!
    q -c "CALL race.write('race.t', $N)" &
    w1=$!
    q -c "CALL race.write('race.p1', $N)" &
    w2=$!
    wait "$w1" "$w2" "$reader"
    line="$(grep -o 'polls .*' "/tmp/change-counters-race.$$" || true)"
    rm -f "/tmp/change-counters-race.$$"
    read -r _ polls _ fetches _ behind _ t _ p <<< "$line"
    if [ "$t" = "$N" ] && [ "$p" = "$N" ] && [ "$behind" = 0 ]; then
        echo "round $round: ok ($polls polls, $fetches fetches, final t=$t p=$p)"
    else
        echo "round $round: MISSED A CHANGE ($polls polls, $fetches fetches, $behind polls held data older than their versions, final t=$t p=$p, expected $N each)"
        failures=$((failures + 1))
    fi
done
q -c "DROP SCHEMA race CASCADE"
echo "$ORDER order: $failures of $ROUNDS rounds missed a change"
[ "$ORDER" = wrong ] || [ "$failures" -eq 0 ]
