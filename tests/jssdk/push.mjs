// Push rules and unread counts through matrix-js-sdk: the ruleset the SDK
// reads, rule edits through its API, and the unread notification and
// highlight counts its room model takes from scopd's /sync, down to 0
// after the SDK sends a read receipt.  Prints one JSON line per check:
// {"ok": bool, "desc": "...", "diag": "..."}.
// Usage: node push.mjs BASE_URL SERVER_NAME
import * as sdk from "matrix-js-sdk";

const [baseUrl] = process.argv.slice(2);
function check(ok, desc, diag) {
  console.log(JSON.stringify({ ok: !!ok, desc, diag: diag === undefined ? "" : String(diag) }));
}
sdk.logger?.setLevel?.("silent");

async function user(name) {
  const anon = sdk.createClient({ baseUrl });
  const reg = await anon.registerRequest({ username: name, password: "js push pass", auth: { type: "m.login.dummy" } });
  return sdk.createClient({ baseUrl, accessToken: reg.access_token, userId: reg.user_id, deviceId: reg.device_id });
}

function until(pred, ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const poll = () => {
      if (pred()) resolve(true);
      else if (Date.now() - t0 > ms) resolve(false);
      else setTimeout(poll, 50);
    };
    poll();
  });
}

try {
  const a = await user("pusha");
  const b = await user("pushb");
  const rules = await b.getPushRules();
  const over = rules.global.override.map((r) => r.rule_id);
  check(over[0] === ".m.rule.master" && over.includes(".m.rule.is_user_mention") &&
    rules.global.content[0]?.pattern === "pushb", "js-sdk getPushRules: the default ruleset", over.join(","));
  await b.addPushRule("global", "content", "cake", { pattern: "cake", actions: ["notify"] });
  await b.setPushRuleEnabled("global", "content", "cake", false);
  await b.setPushRuleActions("global", "underride", ".m.rule.message", ["notify", { set_tweak: "sound", value: "x" }]);
  const r2 = await b.getPushRules();
  const cake = r2.global.content.find((r) => r.rule_id === "cake");
  check(cake && cake.enabled === false && r2.global.content[0].rule_id === "cake",
    "js-sdk addPushRule / setPushRuleEnabled", JSON.stringify(cake));
  await b.deletePushRule("global", "content", "cake");
  const r3 = await b.getPushRules();
  check(!r3.global.content.some((r) => r.rule_id === "cake"), "js-sdk deletePushRule", r3.global.content.length);

  const { room_id: rid } = await a.createRoom({ name: "push room", invite: [b.getUserId()] });
  await b.joinRoom(rid);
  await a.sendEvent(rid, "m.room.message", { msgtype: "m.text", body: "plain" }, "p1");
  const last = await a.sendEvent(rid, "m.room.message",
    { msgtype: "m.text", body: "hey", "m.mentions": { user_ids: [b.getUserId()] } }, "p2");

  const prepared = new Promise((resolve) => {
    b.on(sdk.ClientEvent.Sync, (st) => { if (st === "PREPARED" || st === "SYNCING") resolve(st); });
  });
  await b.startClient({ initialSyncLimit: 10 });
  const st = await Promise.race([prepared, new Promise((r) => setTimeout(() => r("timeout"), 20000))]);
  check(st === "PREPARED" || st === "SYNCING", "js-sdk startClient reaches PREPARED", st);
  const room = b.getRoom(rid);
  const total = () => room?.getUnreadNotificationCount(sdk.NotificationCountType.Total);
  const hl = () => room?.getUnreadNotificationCount(sdk.NotificationCountType.Highlight);
  check(total() === 2 && hl() === 1, "js-sdk room model: 2 unread, 1 highlight from /sync", `${total()} ${hl()}`);
  check(b.pushRules?.global?.override?.[0]?.rule_id === ".m.rule.master",
    "js-sdk client.pushRules filled from m.push_rules account data", JSON.stringify(b.pushRules?.global?.override?.[0]));
  // one more from the other user: the count follows in the sync loop
  await a.sendEvent(rid, "m.room.message", { msgtype: "m.text", body: "third" }, "p3");
  check(await until(() => total() === 3, 20000), "js-sdk sees the count rise to 3 live", total());
  const ev = room.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message").pop();
  await b.sendReadReceipt(ev);
  const zero = await until(() => total() === 0 && hl() === 0, 20000);
  const again = await b.http.authedRequest("GET", "/sync", { timeout: "0" });
  const u = again.rooms.join[rid].unread_notifications;
  check(zero && u.notification_count === 0 && u.highlight_count === 0,
    "js-sdk sendReadReceipt: counts drop to 0 on the client and the server", `${total()} ${JSON.stringify(u)}`);
  b.stopClient();
  check(last.event_id, "sends succeeded", last.event_id);
} catch (e) {
  check(false, "js-sdk push scenario", `${e.httpStatus} ${e.errcode} ${e.stack}`);
}
process.exit(0);
