#!/bin/bash
# live-migrate: a guest printing a counter moves from A to B with
# `xl migrate` and its counter keeps advancing on B.
# lab: hosts=2
# lab: timeout=1500
# shellcheck source=../dom0/lib.sh
. /lab/lib.sh

guest_cfg ctr counter "host,rdtscp=0" 128
guest_start ctr || exit 2
wait_marker ctr '^counter 3[^0-9]' 90 || { say "the counter guest did not start"; exit 2; }
start=$SECONDS
if ! xl migrate -s /lab/migrate-nc ctr "$LAB_PEER"; then
	say "xl migrate failed"
	exit 1
fi
say "migrated in $((SECONDS - start))s"
last_a=$(grep -o '^counter [0-9]*' /var/log/xen/guest-ctr.log | tail -n 1 | cut -d' ' -f2)
check sh -c '! xl list ctr >/dev/null 2>&1' -- "the guest left host A"
check on_b "xl list ctr" -- "the guest runs on host B"
sleep 5
# On B the console log is named after the domain as it arrived,
# "ctr--incoming", before xl renamed it.
last_on_b() {
	on_b "cat /var/log/xen/guest-ctr*.log | grep -o '^counter [0-9]*' | tail -n 1" | cut -d' ' -f2
}
n1=$(last_on_b)
sleep 4
n2=$(last_on_b)
say "counter: last on A ${last_a:-?}, then on B ${n1:-?} and ${n2:-?}"
check test "${n1:-0}" -gt "${last_a:-0}" -- "the counter went on past A's last value on B"
check test "${n2:-0}" -gt "${n1:-0}" -- "the counter keeps advancing on B"
on_b "xl destroy ctr" >/dev/null
finish
