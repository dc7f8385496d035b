"""A pipeline that fails with a known exception, so its task page can be checked."""

from conveyor import DAG, task

with DAG("nightly_billing", schedule=None, tags=["billing"], description="Invoice every customer"):

    @task
    def fetch_customers() -> int:
        print("fetched 42 customers")
        return 42

    @task
    def compute_invoices(count: int) -> None:
        print(f"computing invoices for {count} customers")
        for batch in range(1, 21):  # more lines than the page's tail box holds at once
            print(f"checked customers batch {batch} of 20")
        print("reading amounts")
        raise ValueError("column 'amount' is missing from invoices.csv")

    @task
    def send_invoices() -> None:
        print("sending")

    compute_invoices(fetch_customers()) >> send_invoices()
