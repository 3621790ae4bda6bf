"""What `make run` prints: one readable line per request and per drained batch; the Lambda output in the log file.

A second local API and a poller on a queue of its own run in this process with a console writing
into a buffer, against the session's moto, simulators and the real handlers, so the test sees
exactly what a person would see on the terminal and what lands in the log file.
"""

from __future__ import annotations

import io
import re
import uuid

import pytest

from local.console import Console
from local.events import DEFAULT_JWT_SECRET
from local.gateway_sim import GatewayFault
from local.queue_poller import EventSource, QueuePoller
from local.server import LocalApi
from local.template import jwt_settings
from shared.sending.messages import OutboundMessage
from tests.conftest import ApiClient

REQUEST_LINE = re.compile(r"^(GET|POST|PUT|DELETE) (/\S*) (\d{3}) (\d+)ms(?: (\S+))?(?: (\S+))?$")


@pytest.fixture
def console(tmp_path):
    """A console writing to a buffer; each test installs it in its own body (pytest resets sys.stdout per phase)."""
    screen = io.StringIO()
    return Console(screen, tmp_path / "lambda.log"), screen


@pytest.fixture
def console_api(local_stack, console):
    issuer, audiences = jwt_settings()
    server = LocalApi(
        0,
        jwt_secret=DEFAULT_JWT_SECRET,
        jwt_issuer=issuer,
        jwt_audiences=audiences,
        registry=local_stack.handlers,
        console=console[0],
    ).start()
    try:
        yield ApiClient(server.url)
    finally:
        server.stop()


def screen_lines(screen: io.StringIO) -> list[str]:
    return [line for line in screen.getvalue().splitlines() if line]


def test_one_readable_line_per_request_and_the_lambda_output_in_the_log_file(console_api, console, local_stack):
    the_console, screen = console
    campaign = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "gym"}, "mode": "sync"}
    with the_console:
        served = console_api.call("POST", "/api/v2/campaigns/hybrid", body=campaign, token=console_api.token("u1"))
        console_api.call("GET", "/api/health/hybrid-orchestrator")
        console_api.call("GET", "/api/v2/nothing-here")
    assert served.status == 200, served.body

    lines = screen_lines(screen)
    assert len(lines) == 3, lines
    parsed = [REQUEST_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert parsed[0].group(1, 2, 3) == ("POST", "/api/v2/campaigns/hybrid", "200")
    assert parsed[0][5] == served.body["data"]["workflowId"] and parsed[0][6] == served.body["data"]["provider"]
    assert parsed[1][2] == "/api/health/hybrid-orchestrator" and parsed[2][3] == "404"
    assert not any("{" in line for line in lines)  # no EMF, no JSON log line

    log = the_console.log_path.read_text()
    assert '"_aws"' in log and '"CloudWatchMetrics"' in log  # the handlers' EMF went to the file


def test_an_expected_retry_is_one_warning_line_and_a_batch_one_line(local_stack, console):
    the_console, screen = console
    sqs = local_stack.moto.client("sqs")
    name = f"console-test-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = EventSource("message_sender", url, arn, batch_size=10, report_failures=True)
    poller = QueuePoller(sqs, source, local_stack.handlers.get("message_sender"), wait_s=0, console=the_console)
    workflow_id = "wf_" + uuid.uuid4().hex
    creator = f"creator_{uuid.uuid4().hex[:10]}"
    local_stack.gateway.add_fault(GatewayFault(status=500, count=1, recipient_id="fan-unlucky"))
    try:
        the_console.install()
        message = OutboundMessage.for_recipient(workflow_id, creator, "fan-unlucky", "hello", "console-user")
        sqs.send_message(QueueUrl=url, MessageBody=message.to_body())
        assert poller.poll_once() == 1
        lines = screen_lines(screen)
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"WARNING {name} 1 records: 0 succeeded, 1 failed, 0 requeued"), lines
        assert "GatewayRetryableError: gateway answered 500" in lines[0]
        assert "Traceback" not in screen.getvalue() and "Traceback" in the_console.log_path.read_text()

        lucky = OutboundMessage.for_recipient(workflow_id, creator, "fan-lucky", "hello", "console-user")
        sqs.send_message(QueueUrl=url, MessageBody=lucky.to_body())
        assert poller.poll_once() == 1
        assert screen_lines(screen)[1] == f"{name} 1 records: 1 succeeded, 0 failed, 0 requeued"
    finally:
        the_console.uninstall()
        local_stack.gateway.clear_faults()
        sqs.delete_queue(QueueUrl=url)
