"""EmailOperator through a real SMTP server: the envelope, the headers, the parts."""

import email
import json
import os
from pathlib import Path

from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.sdk import DAG, task
from difrec import START, rec

SUBJECT = "prov_smtp_email"

with DAG("prov_smtp_email", schedule=None, start_date=START, catchup=False):
    plain = EmailOperator(
        task_id="plain",
        conn_id="diffsuite_smtp",
        to="a@example.com; b@example.com",
        cc=["c@example.com"],
        bcc="d@example.com",
        subject=SUBJECT + " plain {{ ds }}",
        html_content="<p>run {{ dag_run.run_id[:6] }} on {{ ds }}</p>",
    )
    attached = EmailOperator(
        task_id="attached",
        conn_id="diffsuite_smtp",
        to=["a@example.com"],
        from_email="sender@example.com",
        subject=SUBJECT + " attached",
        html_content="<b>see file</b>",
        files=[str(Path(__file__).with_name("prov_sql_file_query.sql"))],
        custom_headers={"X-Diffsuite": "yes"},
    )

    @task
    def read(**context):
        folder = Path(os.environ["DIFFSUITE_MAILBOX"])
        mails = []
        for path in folder.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes())
            if not str(message["Subject"]).startswith(SUBJECT):
                continue
            envelope = json.loads(path.with_suffix(".json").read_text())
            # Read once: the next run of this DAG finds the mailbox without them.
            path.unlink()
            path.with_suffix(".json").unlink()
            parts = [
                [part.get_content_type(), part.get_filename(), part.get_content_charset()]
                for part in message.walk()
            ]
            body = next(p for p in message.walk() if p.get_content_type() == "text/html")
            mails.append(
                {
                    "envelope_from": envelope["from"],
                    "envelope_to": sorted(envelope["to"]),
                    "headers": {
                        name: message[name]
                        for name in ("Subject", "From", "To", "Cc", "Bcc", "X-Diffsuite")
                    },
                    "parts": parts,
                    "html": body.get_payload(decode=True).decode(),
                }
            )
        for mail in sorted(mails, key=lambda m: m["headers"]["Subject"]):
            rec(context, "mail", mail)

    [plain, attached] >> read()
