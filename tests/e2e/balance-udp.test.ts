/**
 * Balancing over UDP (sipp -t u1 on both sides): a UAC places 1000 short calls (100/s) through the gateway to two
 * UAS destinations. Proves: 0 failed calls at the caller; each destination got 45–55% of the INVITEs; for every
 * Call-ID a destination got an INVITE for, the same destination got its ACK and BYE, and no destination got an
 * ACK/BYE for a call it did not get; the gateway record-routed every INVITE and popped its own Route from the
 * in-dialog requests; GET /v1/dialogs no longer lists the finished calls.
 */
import { test, before, after } from "node:test";
import { harness } from "../support/harness.ts";
import { runBalance, CALLS, RATE } from "../support/balance.ts";

const h = harness("balance-udp");
before(() => h.setup());
after(() => h.teardown());

test(`${CALLS} calls at ${RATE}/s over UDP are balanced across two destinations and stick to them`, h.wrap(() => runBalance(h, "udp")));
