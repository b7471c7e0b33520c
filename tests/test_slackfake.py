"""The fake answers like Slack, as seen through the real slack_sdk / slack_bolt clients."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from tests.slackfake import FakeSlack

NO_TEXT_WARNING = "top-level `text` argument is missing"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(base_url=fake.base_url, token=fake.bot_token, timeout=5)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_auth_test(fake: FakeSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["user_id"] == "UBOT"
    assert resp["team_id"] == "T0001"
    assert resp["is_enterprise_install"] is False
    assert fake.calls[0].method == "auth.test"
    assert fake.calls[0].token == "xoxb-test"


def test_token_checks(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.base_url).auth_test()
    with pytest.raises(SlackApiError) as wrong:
        WebClient(base_url=fake.base_url, token="xoxb-other").auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert wrong.value.response["error"] == "invalid_auth"
    assert [c.token for c in fake.calls] == [None, "xoxb-other"]


def test_users_info_locale_only_when_asked(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U1", locale="de-DE", tz="Europe/Berlin", name="anna")
    plain = client.users_info(user="U1")["user"]
    localized = client.users_info(user="U1", include_locale=True)["user"]
    assert "locale" not in plain
    assert plain["tz"] == "Europe/Berlin" and plain["name"] == "anna"
    assert plain["tz_offset"] in (3600, 7200)
    assert localized["locale"] == "de-DE"
    # slack_sdk declares users.info as GET, but the sync client POSTs a form with "1".
    assert fake.calls_to("users.info")[1].params == {"user": "U1", "include_locale": "1"}


def test_unknown_user_and_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown_user:
        client.users_info(user="UNOPE")
    with pytest.raises(SlackApiError) as unknown_method:
        client.api_call("nope.nothing")
    assert unknown_user.value.response["error"] == "user_not_found"
    assert unknown_method.value.response["error"] == "unknown_method"


def test_conversations_open_is_stable_per_user(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U1")
    first = client.conversations_open(users="U1")["channel"]["id"]
    again = client.conversations_open(users=["U1"])["channel"]["id"]
    assert first == again and first.startswith("D")
    posted = client.chat_postMessage(channel="U1", text="hi")
    assert posted["channel"] == first


def test_post_message_records_decoded_blocks(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("*hello*")]
    resp = client.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    assert resp["message"]["blocks"] == blocks
    # Form-encoded bodies carry blocks as a JSON string; the fake decodes them.
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(blocks)})
    assert [c.params["blocks"] for c in fake.calls_to("chat.postMessage")] == [blocks, blocks]


def test_post_message_errors(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_text, pytest.warns(UserWarning, match=NO_TEXT_WARNING):
        client.chat_postMessage(channel="C1")
    with pytest.raises(SlackApiError) as no_channel:
        client.chat_postMessage(channel="", text="hi")
    assert no_text.value.response["error"] == "no_text"
    assert no_channel.value.response["error"] == "channel_not_found"


def test_fail_next_raises_slack_api_error_then_recovers(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C1", text="hi")
    assert failed.value.response.status_code == 200
    assert failed.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_rate_limit_is_retried_by_slack_sdk(
    fake: FakeSlack, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler sleeps Retry-After + random() seconds; pin the jitter so the test stays fast.
    monkeypatch.setattr(random, "random", lambda: 0.0)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_rate_limit_without_retry_handler(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_next("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.users_info(user="UBOT")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"


def test_response_url_via_webhook_client(fake: FakeSlack) -> None:
    url = fake.response_url()
    resp = WebhookClient(url).send(text="done", response_type="ephemeral")
    assert (resp.status_code, resp.body) == (200, "ok")
    [call] = fake.calls_to("response_url")
    assert call.params == {"text": "done", "response_type": "ephemeral"}
    assert call.url == url.removeprefix(f"http://127.0.0.1:{fake.port}")
    assert fake.response_url() != url


def test_unknown_response_url_is_404(fake: FakeSlack) -> None:
    url = f"http://127.0.0.1:{fake.port}/response/999"
    resp = WebhookClient(url).send(text="lost")
    assert (resp.status_code, resp.body) == (404, "no_service")


def test_malformed_body_is_invalid_arguments(fake: FakeSlack) -> None:
    request = urllib.request.Request(
        fake.base_url + "chat.postMessage",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert json.load(resp) == {"ok": False, "error": "invalid_arguments"}
    assert fake.calls_to("chat.postMessage")[0].params == {}


def test_file_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        content=b"a,b\n1,2\n", filename="kpi.csv", title="KPIs", channel="C1", initial_comment="hi"
    )
    file_id = resp["file"]["id"]
    assert resp["file"]["title"] == "KPIs"
    assert fake.uploaded(file_id) == b"a,b\n1,2\n"
    assert fake.calls_to("files.getUploadURLExternal")[0].params["length"] == "8"
    complete = fake.calls_to("files.completeUploadExternal")[0].params
    assert json.loads(complete["files"]) == [{"id": file_id, "title": "KPIs"}]
    assert complete["channel_id"] == "C1"


def test_complete_unknown_file_is_file_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as missing:
        client.files_completeUploadExternal(files=[{"id": "FNOPE", "title": "x"}])
    assert missing.value.response["error"] == "file_not_found"


def test_upload_url_for_unknown_file_is_404(fake: FakeSlack) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{fake.port}/upload/FNOPE", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 404


def test_views_publish_and_open(fake: FakeSlack, client: WebClient) -> None:
    home = {"type": "home", "blocks": [section("home")]}
    first = client.views_publish(user_id="U1", view=home)["view"]["id"]
    again = client.views_publish(user_id="U1", view=home)["view"]["id"]
    title = {"type": "plain_text", "text": "Hi"}
    modal = {"type": "modal", "title": title, "blocks": [section("m")]}
    opened = client.views_open(trigger_id="123.456", view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], view=modal)["view"]
    assert updated["id"] == opened["id"]
    assert first == again
    assert opened["id"] != first and opened["title"]["text"] == "Hi"
    assert fake.calls_to("views.publish")[0].params["view"] == home
    fake.validate_payloads()


def test_validate_payloads_accepts_good_messages(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="fallback", blocks=[section("x")] * 50)
    client.chat_update(channel="C1", ts="1.2", text="plain")
    WebhookClient(fake.response_url()).send_dict({"delete_original": True})
    fake.validate_payloads()


def test_validate_payloads_reports_every_problem(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="too many", blocks=[section("x")] * 51)
    with pytest.warns(UserWarning, match=NO_TEXT_WARNING):  # slack_sdk only warns
        client.chat_postMessage(channel="C1", blocks=[section("no fallback")])
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=[header])
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("y" * 3001)]})
    with pytest.raises(AssertionError) as err:
        fake.validate_payloads()
    report = str(err.value)
    assert "call #0 chat.postMessage: 51 blocks (max 50)" in report
    assert "call #1 chat.postMessage: message has blocks but no fallback text" in report
    assert "call #2 chat.postEphemeral: block 0: header text has 151 chars" in report
    assert "call #3 views.publish: block 0: section text has 3001 chars" in report


def test_wait_for_reports_what_arrived(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"(?s)chat\.postMessage.*got 0.*auth\.test"):
        fake.wait_for("chat.postMessage", timeout=0.05)


def test_wait_for_sees_calls_from_other_threads(fake: FakeSlack, client: WebClient) -> None:
    thread = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="bg"))
    thread.start()
    [call] = fake.wait_for("chat.postMessage")
    thread.join(timeout=5)
    assert call.params["text"] == "bg"


def test_socket_mode_envelope_and_ack(fake: FakeSlack, client: WebClient) -> None:
    socket_client = SocketModeClient(
        app_token=fake.app_token, web_client=client, auto_reconnect_enabled=False
    )
    hello = threading.Event()

    def on_message(raw: str) -> None:
        if json.loads(raw)["type"] == "hello":
            hello.set()

    def listener(c: SocketModeClient, req: SocketModeRequest) -> None:
        payload = {"text": f"got {req.payload['command']}"}
        c.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=payload)
        )

    socket_client.on_message_listeners.append(on_message)
    socket_client.socket_mode_request_listeners.append(listener)
    try:
        socket_client.connect()
        fake.wait_connected()
        envelope_id = fake.send_envelope(
            "slash_commands", {"command": "/prm", "text": ""}, accepts_response_payload=True
        )
        ack = fake.wait_ack(envelope_id)
        assert hello.wait(5)
    finally:
        socket_client.close()
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "got /prm"}}
    assert fake.calls_to("apps.connections.open")[0].token == "xapp-test"


def test_apps_connections_open_needs_the_app_token(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.apps_connections_open(app_token="xoxb-test")
    assert err.value.response["error"] == "invalid_auth"


def test_bolt_socket_mode_slash_command(fake: FakeSlack, client: WebClient) -> None:
    app = App(client=client)

    @app.command("/prm")
    def prm(ack: Ack, respond: Respond) -> None:
        ack("working on it")
        respond(text="done", replace_original=False)

    handler = SocketModeHandler(app, app_token=fake.app_token)
    try:
        handler.connect()
        payload = {
            "command": "/prm",
            "text": "kpi",
            "team_id": fake.team_id,
            "user_id": "U1",
            "channel_id": "C1",
            "response_url": fake.response_url(),
            "trigger_id": "1.2.3",
        }
        envelope_id = fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
        ack = fake.wait_ack(envelope_id)
        [call] = fake.wait_for("response_url")
    finally:
        handler.close()
    assert ack["payload"] == {"text": "working on it"}
    assert call.params == {"text": "done", "replace_original": False}
    fake.validate_payloads()


# Several workspaces (issue 12): per-team tokens, external users, channels, Slack Connect
# invitations and the OAuth code exchange, each with Slack's own refusals.


def test_each_team_answers_to_its_own_token(fake: FakeSlack) -> None:
    token = fake.add_team("T0PARTNER", name="Acme")
    assert fake.add_team("T0PARTNER") == token  # idempotent
    me = WebClient(base_url=fake.base_url, token=token).auth_test()
    assert me["team_id"] == "T0PARTNER" and me["user_id"] == "UBOTT0PARTNER"
    assert fake.calls_to("auth.test", team="T0PARTNER") and not fake.calls_to(
        "auth.test", team="T0001"
    )
    fake.uninstall("T0PARTNER")
    with pytest.raises(SlackApiError) as gone:
        WebClient(base_url=fake.base_url, token=token).auth_test()
    assert gone.value.response["error"] == "account_inactive"
    fake.add_team("T0PARTNER")  # installed again
    fake.revoke("T0PARTNER")
    with pytest.raises(SlackApiError) as revoked:
        WebClient(base_url=fake.base_url, token=token).auth_test()
    assert revoked.value.response["error"] == "token_revoked"


def test_external_users_belong_to_their_own_team(fake: FakeSlack, client: WebClient) -> None:
    fake.add_team("T0PARTNER")
    fake.add_user("UEXT1", team_id="T0PARTNER", email="taro@acme.example")
    assert client.users_info(user="UEXT1")["user"]["team_id"] == "T0PARTNER"
    with pytest.raises(SlackApiError) as hidden:
        client.conversations_open(users="UEXT1")
    assert hidden.value.response["error"] == "user_not_visible"
    theirs = WebClient(base_url=fake.base_url, token=fake.token_of("T0PARTNER"))
    assert theirs.conversations_open(users="UEXT1")["channel"]["id"]


def test_conversations_create_and_info(fake: FakeSlack, client: WebClient) -> None:
    made = client.conversations_create(name="prm-acme", is_private=True)["channel"]
    assert made["is_private"] and made["name"] == "prm-acme"
    info = client.conversations_info(channel=made["id"])["channel"]
    assert info["id"] == made["id"] and info["is_member"] is True
    refusals = {
        "prm-acme": "name_taken",
        "Prm Acme": "invalid_name_specials",
        "x" * 81: "invalid_name_maxlength",
        "": "invalid_name_required",
    }
    for name, error in refusals.items():
        with pytest.raises(SlackApiError) as refused:
            client.conversations_create(name=name)
        assert refused.value.response["error"] == error, name
    with pytest.raises(SlackApiError) as unknown:
        client.conversations_info(channel="CNOPE")
    assert unknown.value.response["error"] == "channel_not_found"
    other = WebClient(base_url=fake.base_url, token=fake.add_team("T0PARTNER"))
    with pytest.raises(SlackApiError) as not_theirs:  # another workspace's private channel
        other.conversations_info(channel=made["id"])
    assert not_theirs.value.response["error"] == "channel_not_found"


def test_invite_shared_one_address_at_a_time(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="prm-acme")["channel"]["id"]
    sent = client.conversations_inviteShared(channel=channel, emails="taro@acme.example")
    assert sent["invite_id"] and fake.invites[-1]["email"] == "taro@acme.example"
    assert fake.invites[-1]["external_limited"] is True  # Slack's default
    for params in ({"channel": channel}, {"channel": channel, "emails": "a@x.example,b@x.example"}):
        with pytest.raises(SlackApiError) as bad:  # slack_sdk itself refuses no recipient
            client.api_call("conversations.inviteShared", params=params)
        assert bad.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as unknown:
        client.conversations_inviteShared(channel="CNOPE", emails="taro@acme.example")
    assert unknown.value.response["error"] == "channel_not_found"
    fake.connect_disabled(error="not_paid")
    with pytest.raises(SlackApiError) as free:
        client.conversations_inviteShared(channel=channel, emails="hana@acme.example")
    assert free.value.response["error"] == "not_paid"


def test_oauth_v2_access_issues_a_team_token_once(fake: FakeSlack) -> None:
    code = fake.issue_oauth_code("T0PARTNER", team_name="Acme")
    anon = WebClient(base_url=fake.base_url)
    with pytest.raises(SlackApiError) as secret:
        anon.oauth_v2_access(client_id=fake.client_id, client_secret="wrong", code=code)
    assert secret.value.response["error"] == "bad_client_secret"
    granted = anon.oauth_v2_access(
        client_id=fake.client_id, client_secret=fake.client_secret, code=code
    )
    assert granted["team"] == {"id": "T0PARTNER", "name": "Acme"}
    assert (
        WebClient(base_url=fake.base_url, token=granted["access_token"]).auth_test()["team_id"]
        == "T0PARTNER"
    )
    with pytest.raises(SlackApiError) as used:
        anon.oauth_v2_access(client_id=fake.client_id, client_secret=fake.client_secret, code=code)
    assert used.value.response["error"] == "invalid_code"
