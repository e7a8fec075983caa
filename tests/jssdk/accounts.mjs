// Drives scopd with matrix-js-sdk: register, login, whoami, devices,
// logout.  Prints one JSON line per check: {"ok": bool, "desc": "...", "diag": "..."}.
// Usage: node accounts.mjs BASE_URL SERVER_NAME
import * as sdk from "matrix-js-sdk";

const [baseUrl, serverName] = process.argv.slice(2);
const results = [];
function check(ok, desc, diag) {
  console.log(JSON.stringify({ ok: !!ok, desc, diag: diag === undefined ? "" : String(diag) }));
}
async function expectError(fn, errcode, desc) {
  try {
    await fn();
    check(false, desc, "no error");
  } catch (e) {
    check(e.errcode === errcode, desc, `${e.httpStatus} ${e.errcode} ${e.message}`);
  }
}

// Quiet the SDK's own logging.
sdk.logger?.setLevel?.("silent");

const anon = sdk.createClient({ baseUrl });
try {
  const versions = await anon.getVersions();
  check(versions.versions.includes("v1.1"), "js-sdk getVersions", JSON.stringify(versions));

  const reg = await anon.registerRequest({
    username: "jsuser", password: "js password", auth: { type: "m.login.dummy" },
    initial_device_display_name: "js device",
  });
  check(reg.user_id === `@jsuser:${serverName}` && reg.access_token, "js-sdk registerRequest", JSON.stringify(reg));
  await expectError(() => anon.registerRequest({ username: "jsuser", password: "x", auth: { type: "m.login.dummy" } }),
    "M_USER_IN_USE", "js-sdk register again: M_USER_IN_USE");
  await expectError(() => anon.login("m.login.password", {
    identifier: { type: "m.id.user", user: "jsuser" }, password: "wrong" }),
    "M_FORBIDDEN", "js-sdk login with a wrong password: M_FORBIDDEN");

  const login = await anon.login("m.login.password", {
    identifier: { type: "m.id.user", user: "jsuser" }, password: "js password",
    initial_device_display_name: "js laptop",
  });
  check(login.user_id === `@jsuser:${serverName}` && login.device_id, "js-sdk login", JSON.stringify(login));

  const client = sdk.createClient({ baseUrl, accessToken: login.access_token, userId: login.user_id,
    deviceId: login.device_id });
  const who = await client.whoami();
  check(who.user_id === login.user_id && who.device_id === login.device_id, "js-sdk whoami", JSON.stringify(who));
  const devs = await client.getDevices();
  check(devs.devices.some((d) => d.display_name === "js laptop"), "js-sdk getDevices", JSON.stringify(devs));
  await client.setDeviceDetails(login.device_id, { display_name: "renamed" });
  const dev = await client.getDevice(login.device_id);
  check(dev.display_name === "renamed", "js-sdk setDeviceDetails/getDevice", JSON.stringify(dev));
  await client.logout(true);
  const stale = sdk.createClient({ baseUrl, accessToken: login.access_token });
  await expectError(() => stale.whoami(), "M_UNKNOWN_TOKEN", "js-sdk whoami after logout: M_UNKNOWN_TOKEN");
} catch (e) {
  check(false, "js-sdk scenario", `${e.httpStatus} ${e.errcode} ${e.stack}`);
}
process.exit(0);
