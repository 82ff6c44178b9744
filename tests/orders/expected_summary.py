#!/usr/bin/env python3
"""Expected summary of the order-processing demo, computed independently of
the C code from the Northwind CSVs, with Python's csv module and Decimal.

Usage:
    expected_summary.py DATA_DIR                      print the summary as JSON
    expected_summary.py DATA_DIR --compare-with PROG  also run `PROG DATA_DIR`,
        which must print the same JSON (the C side, ow_summary_to_json), and
        exit 1 listing every difference

Business rules (see workers/orders/orders_logic.h):
  - order total = sum(unitPrice * quantity * (1 - discount)) + freight,
    rounded to cents half up, once, at the end;
  - an order is invalid if its customer or shipper is unknown, it has no line,
    or a line has an unknown product, quantity <= 0, a negative price or a
    discount outside 0..1;
  - payment is declined when the total exceeds 10,000.00;
  - otherwise: shipped on or before requiredDate -> confirmed_on_time; within
    30 days after it -> confirmed_late; never shipped (shippedDate NULL) or
    shipped more than 30 days late -> cancelled (paid, then refunded).

Data flaws handled: an unquoted comma inside orders.shipAddress or
customers.address (a row with surplus fields, each surplus fragment starting
with a space, is repaired by joining the fragments back with ','); the literal
NULL. Rows that cannot be repaired or parsed are reported on stderr and
skipped.
"""

import csv
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CREDIT_LIMIT = Decimal("10000.00")
GRACE = timedelta(days=30)
CENT = Decimal("0.01")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def warn(path, line, msg):
    print(f"{os.path.basename(path)}:{line}: {msg}", file=sys.stderr)


def read_table(path, repair_column=None):
    """Yields (line_number, {column: value}) for each row that makes sense."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        width = len(header)
        fix_at = header.index(repair_column) if repair_column else None
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if not row:
                continue
            if len(row) > width and fix_at is not None:
                surplus = len(row) - width
                fragments = row[fix_at + 1:fix_at + 1 + surplus]
                if all(frag.startswith(" ") for frag in fragments):
                    row = (row[:fix_at] + [",".join(row[fix_at:fix_at + 1 + surplus])]
                           + row[fix_at + 1 + surplus:])
            if len(row) != width:
                warn(path, start, f"expected {width} fields, found {len(row)}; skipped")
                continue
            yield start, dict(zip(header, row))


def money(value):
    d = Decimal(value)
    if not d.is_finite():
        raise InvalidOperation(value)
    return d


def parse_date(value):
    return None if value == "NULL" else datetime.strptime(value, DATE_FORMAT)


def cents(amount):
    return int((amount * 100).to_integral_value())


def load(data_dir):
    p = lambda name: os.path.join(data_dir, name)
    shippers = {}
    for line, r in read_table(p("shippers.csv")):
        shippers[int(r["shipperID"])] = r["companyName"]
    products = set()
    for line, r in read_table(p("products.csv")):
        products.add(int(r["productID"]))
    customers = set()
    for line, r in read_table(p("customers.csv"), "address"):
        customers.add(r["customerID"])
    orders = {}
    for line, r in read_table(p("orders.csv"), "shipAddress"):
        try:
            order = {
                "id": int(r["orderID"]),
                "customer": r["customerID"],
                "required": parse_date(r["requiredDate"]),
                "shipped": parse_date(r["shippedDate"]),
                "via": int(r["shipVia"]),
                "freight": money(r["freight"]),
                "lines": [],
            }
        except (ValueError, InvalidOperation) as e:
            warn(p("orders.csv"), line, f"{e}; skipped")
            continue
        if order["required"] is None:
            warn(p("orders.csv"), line, "requiredDate is NULL; skipped")
            continue
        if order["id"] in orders:
            warn(p("orders.csv"), line, f"duplicate orderID {order['id']}; skipped")
            continue
        orders[order["id"]] = order
    for line, r in read_table(p("order-details.csv")):
        try:
            oid, pid = int(r["orderID"]), int(r["productID"])
            item = (pid, money(r["unitPrice"]), int(r["quantity"]), money(r["discount"]))
        except (ValueError, InvalidOperation) as e:
            warn(p("order-details.csv"), line, f"{e}; skipped")
            continue
        if oid not in orders:
            warn(p("order-details.csv"), line, f"orderID {oid} has no order; skipped")
            continue
        if any(x[0] == pid for x in orders[oid]["lines"]):
            warn(p("order-details.csv"), line, f"duplicate line {oid}/{pid}; skipped")
            continue
        orders[oid]["lines"].append(item)
    return shippers, products, customers, orders


def line_value(item):
    _pid, price, qty, discount = item
    return price * qty * (1 - discount)


def summarize(data_dir):
    shippers, products, customers, orders = load(data_dir)
    outcomes = dict.fromkeys(
        ["payment_declined", "confirmed_on_time", "confirmed_late", "cancelled"], 0)
    invalid = never_shipped = too_late = 0
    revenue = refunds = lines_total = Decimal(0)
    refund_count = 0
    per_shipper = {name: 0 for name in shippers.values()}
    n_lines = 0
    for o in orders.values():
        n_lines += len(o["lines"])
        lines_total += sum((line_value(x) for x in o["lines"]), Decimal(0))
        if o["shipped"] is None:
            never_shipped += 1
        elif o["shipped"] > o["required"] + GRACE:
            too_late += 1
        valid = (o["customer"] in customers and o["via"] in shippers and o["lines"]
                 and o["freight"] >= 0
                 and all(pid in products and qty > 0 and price >= 0 and 0 <= disc <= 1
                         for pid, price, qty, disc in o["lines"]))
        if not valid:
            invalid += 1
            continue
        total = (sum((line_value(x) for x in o["lines"]), Decimal(0)) + o["freight"]
                 ).quantize(CENT, rounding=ROUND_HALF_UP)
        if total > CREDIT_LIMIT:
            outcome = "payment_declined"
        elif o["shipped"] is None or o["shipped"] > o["required"] + GRACE:
            outcome = "cancelled"
        elif o["shipped"] <= o["required"]:
            outcome = "confirmed_on_time"
        else:
            outcome = "confirmed_late"
        outcomes[outcome] += 1
        if outcome.startswith("confirmed"):
            revenue += total
            per_shipper[shippers[o["via"]]] += 1
        elif outcome == "cancelled":
            refunds += total
            refund_count += 1
    lines_total = lines_total.quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "total_orders": len(orders),
        "total_lines": n_lines,
        "outcomes": outcomes,
        "invalid_orders": invalid,
        "never_shipped": never_shipped,
        "shipped_more_than_30_days_late": too_late,
        "credit_limit": f"{CREDIT_LIMIT:.2f}",
        "revenue_confirmed": {"cents": cents(revenue), "amount": f"{revenue:.2f}"},
        "refunds": {"count": refund_count, "cents": cents(refunds), "amount": f"{refunds:.2f}"},
        "confirmed_per_shipper": per_shipper,
        "lines_total_before_freight": {"cents": cents(lines_total),
                                       "amount": f"{lines_total:.2f}"},
    }


def to_json(summary):
    return json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def differences(expected, actual, path=""):
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{sub}: missing on the C side (python: {expected[key]!r})")
            elif key not in expected:
                out.append(f"{sub}: only on the C side ({actual[key]!r})")
            else:
                out.extend(differences(expected[key], actual[key], sub))
        return out
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: python {expected!r} != C {actual!r}"]
    return []


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--compare-with"):
        print(__doc__, file=sys.stderr)
        return 2
    summary = summarize(argv[1])
    text = to_json(summary)
    sys.stdout.write(text)
    if len(argv) == 4:
        run = subprocess.run([argv[3], argv[1]], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(f"{argv[3]} failed ({run.returncode}): {run.stderr}", file=sys.stderr)
            return 1
        try:
            c_summary = json.loads(run.stdout)
        except json.JSONDecodeError as e:
            print(f"{argv[3]} printed no JSON: {e}\n{run.stdout}", file=sys.stderr)
            return 1
        diffs = differences(summary, c_summary)
        for d in diffs:
            print("MISMATCH " + d, file=sys.stderr)
        if diffs:
            return 1
        if run.stdout != text:
            print("MISMATCH: same values but different JSON text", file=sys.stderr)
            return 1
        print("C summary matches the Python summary", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
