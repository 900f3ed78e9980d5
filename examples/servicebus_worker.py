# A Service Bus worker: takes jobs from a queue (or a topic subscription)
# with peek-lock, does each one and completes it; a job that fails is
# abandoned and comes back (DeliveryCount + 1) until the queue's maximum
# delivery count dead-letters it. Nothing is lost if the board resets
# mid-job: the lock expires and the job is delivered again, so a job must
# be safe to do twice.
#
# On a board: set the configuration below (and run boot.py first: WLAN and
# the clock). On the unix build the environment can set it (tests/e2e).
import os
import time

import azure

# ---- Configuration -----------------------------------------------------------
CONNECTION_STRING = (
    "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=Listen;"
    "SharedAccessKey=<key>;EntityPath=<queue>"
)  # a policy with Listen rights
SUBSCRIPTION = None               # with a topic's EntityPath: the subscription to read
CA_CERTS = "/flash/cert/ca.pem"
ENDPOINT = None
WAIT = 20                         # seconds the service holds a receive open (below the client's timeout, 30)
MAX_JOBS = None                   # stop after this many (None: run forever)
IDLE_EXIT = None                  # stop after this many empty receives in a row (None: never)
# -------------------------------------------------------------------------------

CONNECTION_STRING = os.getenv("AZURE_SB_CONNECTION_STRING") or CONNECTION_STRING
SUBSCRIPTION = os.getenv("AZURE_SUBSCRIPTION") or SUBSCRIPTION
CA_CERTS = os.getenv("AZURE_CA_CERTS") or CA_CERTS
ENDPOINT = os.getenv("AZURE_ENDPOINT") or ENDPOINT
WAIT = int(os.getenv("AZURE_WAIT") or WAIT)
MAX_JOBS = int(os.getenv("AZURE_MAX_JOBS") or 0) or MAX_JOBS
IDLE_EXIT = int(os.getenv("AZURE_IDLE_EXIT") or 0) or IDLE_EXIT


def do_job(msg):
    # Stand-in for the real work: "fail" jobs fail (and are retried).
    job = str(msg.body, "utf-8")
    if job.startswith("fail"):
        raise ValueError("cannot do " + job)
    print("  did %s (priority %s)" % (job, msg.properties.get("priority", "-")))


q = azure.ServiceBusClient.from_connection_string(CONNECTION_STRING, subscription_name=SUBSCRIPTION,
                                                  ca_certs=CA_CERTS, endpoint=ENDPOINT)
done = failed = idle = 0
while MAX_JOBS is None or done + failed < MAX_JOBS:
    try:
        msg = q.receive(timeout=WAIT)
    except azure.SendError as e:   # the network or the service: wait and try again
        print("receive failed:", e)
        time.sleep(5)
        continue
    if msg is None:
        idle += 1
        if IDLE_EXIT is not None and idle >= IDLE_EXIT:
            break
        continue
    idle = 0
    print("job %s (sequence %s, delivery %s)" % (msg.message_id, msg.sequence_number, msg.delivery_count))
    try:
        do_job(msg)
    except Exception as e:
        print("  failed (%s): abandoned, it comes back" % e)
        failed += 1
        try:
            q.abandon(msg)
        except azure.SendError as e2:  # LockLostError included: it comes back anyway
            print("  abandon:", e2)
        continue
    try:
        q.complete(msg)
        done += 1
    except azure.LockLostError as e:
        # The job took longer than the queue's lock duration (or an answer was
        # lost and e.retried is True): it may be delivered again.
        print("  lock lost:", e)
print("worker: %d done, %d failed attempts" % (done, failed))
q.close()
