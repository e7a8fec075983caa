// Drives scopd's room endpoints and /sync with matrix-js-sdk: two users,
// a room, messages, state, membership, pagination, then the SDK's own sync
// loop (startClient) seeing a message the other user sends.  Prints one
// JSON line per check: {"ok": bool, "desc": "...", "diag": "..."}.
// Usage: node rooms.mjs BASE_URL SERVER_NAME
import * as sdk from "matrix-js-sdk";

const [baseUrl, serverName] = process.argv.slice(2);
function check(ok, desc, diag) {
  console.log(JSON.stringify({ ok: !!ok, desc, diag: diag === undefined ? "" : String(diag) }));
}
sdk.logger?.setLevel?.("silent");

async function user(name) {
  const anon = sdk.createClient({ baseUrl });
  const reg = await anon.registerRequest({ username: name, password: "js room pass", auth: { type: "m.login.dummy" } });
  return sdk.createClient({ baseUrl, accessToken: reg.access_token, userId: reg.user_id, deviceId: reg.device_id });
}

try {
  const a = await user("jsa");
  const b = await user("jsb");
  const { room_id: rid } = await a.createRoom({ name: "js room", topic: "about js", invite: [b.getUserId()] });
  check(rid && rid.startsWith("!"), "js-sdk createRoom", rid);
  await b.joinRoom(rid);
  const joined = await b.getJoinedRooms();
  check(joined.joined_rooms.includes(rid), "js-sdk joinRoom / getJoinedRooms", JSON.stringify(joined));
  const name = await b.getStateEvent(rid, "m.room.name", "");
  check(name.name === "js room", "js-sdk getStateEvent", JSON.stringify(name));
  const state = await b.roomState(rid);
  check(state.some((e) => e.type === "m.room.topic" && e.content.topic === "about js"), "js-sdk roomState", state.length);
  await a.sendStateEvent(rid, "m.room.topic", { topic: "changed" }, "");
  for (let i = 0; i < 30; i++)
    await a.sendEvent(rid, "m.room.message", { msgtype: "m.text", body: `js${i}` }, `txn-js-${i}`);
  let got = [], from = null;
  for (let k = 0; k < 20; k++) {
    const page = await b.createMessagesRequest(rid, from, 7, "b");
    got = got.concat(page.chunk.filter((e) => e.type === "m.room.message").map((e) => e.content.body));
    if (!page.end || page.chunk.length === 0) break;
    from = page.end;
  }
  const want = Array.from({ length: 30 }, (_, i) => `js${29 - i}`);
  check(JSON.stringify(got) === JSON.stringify(want), "js-sdk createMessagesRequest pages back", got.length);
  const members = await a.getJoinedRoomMembers(rid);
  check(Object.keys(members.joined).length === 2, "js-sdk getJoinedRoomMembers", JSON.stringify(members));
  await a.setDisplayName("JS A");
  const prof = await b.getProfileInfo(a.getUserId());
  check(prof.displayname === "JS A", "js-sdk setDisplayName / getProfileInfo", JSON.stringify(prof));
  try {
    await b.sendStateEvent(rid, "m.room.name", { name: "mine" }, "");
    check(false, "js-sdk: state without power is refused", "no error");
  } catch (e) {
    check(e.errcode === "M_FORBIDDEN" && e.httpStatus === 403, "js-sdk: state without power is refused", `${e.httpStatus} ${e.errcode}`);
  }

  // The SDK's sync loop.
  const seen = new Promise((resolve) => {
    b.on(sdk.RoomEvent.Timeline, (ev, room) => {
      if (room?.roomId === rid && ev.getType() === "m.room.message" && ev.getContent().body === "live")
        resolve(true);
    });
  });
  const prepared = new Promise((resolve) => {
    b.on(sdk.ClientEvent.Sync, (st) => { if (st === "PREPARED" || st === "SYNCING") resolve(st); });
  });
  await b.startClient({ initialSyncLimit: 5 });
  const st = await Promise.race([prepared, new Promise((r) => setTimeout(() => r("timeout"), 20000))]);
  check(st === "PREPARED" || st === "SYNCING", "js-sdk startClient reaches PREPARED", st);
  const room = b.getRoom(rid);
  check(room && room.name === "js room" && room.currentState.getStateEvents("m.room.topic", "")?.getContent().topic === "changed",
    "js-sdk room model from sync: name and topic", room && room.name);
  await a.sendEvent(rid, "m.room.message", { msgtype: "m.text", body: "live" }, "txn-live");
  const live = await Promise.race([seen, new Promise((r) => setTimeout(() => r(false), 20000))]);
  check(live, "js-sdk sync loop receives the other user's message");
  b.stopClient();
  await a.leave(rid);
  const left = await a.getJoinedRooms();
  check(!left.joined_rooms.includes(rid), "js-sdk leave", JSON.stringify(left));
} catch (e) {
  check(false, "js-sdk rooms scenario", `${e.httpStatus} ${e.errcode} ${e.stack}`);
}
process.exit(0);
