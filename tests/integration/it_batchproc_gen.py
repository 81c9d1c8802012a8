#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# it_batchproc_gen.py FORMAT OUT (--products N | --bytes N) [--bad-every K]
# Writes a deterministic catalog file for the batch_processing tests and
# benchmarks: normalised 1688 offers (docs/1688-normalized.md) with SKUs,
# price tiers, attributes and images, as JSONL (one offer a line) or CSV
# (one row per SKU, the export format). With --bad-every K every K-th
# offer is written as a malformed record instead (broken JSON, or a CSV
# row with a non-numeric price). Prints "products=<good> bad=<bad>
# bytes=<size> lines=<data lines>" on stdout.
import argparse
import json
import sys

COLUMNS = [
    "offer_id", "source", "category_id", "top_category_id", "subject",
    "subject_tr", "unit", "status", "quote_type", "moq", "price_min_fen",
    "price_max_fen", "currency", "amount_on_sale", "sold_count", "sold_text",
    "unit_weight_kg", "detail_url", "video_url", "raw_sha256", "fetched_at",
    "supplier_seller_user_id", "supplier_member_id", "supplier_login_id",
    "supplier_open_id", "supplier_company_name", "supplier_shop_url",
    "supplier_province", "supplier_city", "attributes", "sku_props",
    "price_ranges", "images", "sku_id", "sku_spec_id", "sku_spec_text",
    "sku_price_fen", "sku_promo_price_fen", "sku_retail_price_fen",
    "sku_stock", "sku_weight_kg", "sku_cargo_number",
]


def offer(i):
    oid = 600000000000 + i
    nsku = i % 4
    price = 100 + (i * 37) % 5000
    return {
        "offer_id": oid, "source": "api", "category_id": 1031910 + i % 50,
        "top_category_id": 10166, "subject": "女装连衣裙 2024新款 第%d号" % i,
        "unit": "件", "status": "published", "quote_type": 1, "moq": 2,
        "price_min_fen": price, "price_max_fen": price + nsku * 10,
        "currency": "CNY", "amount_on_sale": 1000 + i % 7, "sold_count": i % 300,
        "supplier": {"seller_user_id": 2200000000 + i % 997,
                     "member_id": "b2b-%d" % (2200000000 + i % 997),
                     "company_name": "义乌市第%d服饰有限公司" % (i % 997),
                     "province": "浙江", "city": "义乌"},
        "attributes": [{"attr_id": 100, "name": "材质", "value": "棉"},
                       {"attr_id": 101, "name": "风格", "value": "韩版"}],
        "sku_props": [{"fid": 3216, "name": "颜色",
                       "values": [{"value": "色%d" % k} for k in range(nsku)]}]
        if nsku else [],
        "skus": [{"sku_id": oid * 10 + k, "spec_id": "%032x" % (oid * 10 + k),
                  "spec_text": "色%d>XL" % k, "price_fen": price + k * 10,
                  "stock": 100 + k} for k in range(nsku)],
        "price_ranges": [{"start_qty": 2, "price_fen": price + 50},
                         {"start_qty": 100, "price_fen": price}],
        "images": [{"url": "https://cbu01.alicdn.com/img/ibank/O1CN01%d_%d.jpg"
                    % (i, k), "role": "main", "ord": k} for k in range(3)],
    }


def esc(s, last):
    s = s.replace("\\", "\\\\").replace("|", "\\|")
    return s if last else s.replace(":", "\\:")


def pack(items, keys):
    out = []
    for it in items:
        parts = []
        for n, k in enumerate(keys):
            v = it.get(k)
            parts.append("" if v is None else esc(str(v), n == len(keys) - 1))
        out.append(":".join(parts))
    return "|".join(out)


def csv_field(v):
    s = "" if v is None else str(v)
    if any(c in s for c in ',"\n\r') or s[:1] == " " or s[-1:] == " ":
        s = '"' + s.replace('"', '""') + '"'
    return s


def csv_rows(o, bad):
    sup = o["supplier"]
    props = []
    for p in o["sku_props"]:
        for v in p["values"]:
            props.append({"fid": p["fid"], "name": p["name"],
                          "value": v["value"]})
    lists = {
        "attributes": pack(o["attributes"], ["attr_id", "name", "value"]),
        "sku_props": pack(props, ["fid", "name", "value", "image_url"]),
        "price_ranges": pack(o["price_ranges"],
                             ["start_qty", "price_fen", "promo_price_fen"]),
        "images": pack(o["images"], ["role", "ord", "url"]),
    }
    skus = o["skus"] or [None]
    rows = []
    for s in skus:
        vals = []
        for c in COLUMNS:
            if c.startswith("supplier_"):
                vals.append(sup.get(c[len("supplier_"):]))
            elif c in lists:
                vals.append(lists[c])
            elif c.startswith("sku_"):
                key = c[4:] if c != "sku_id" else "sku_id"
                vals.append(None if s is None else s.get(key))
            else:
                vals.append(o.get(c))
        if bad:
            vals[COLUMNS.index("price_min_fen")] = "lots"
        rows.append(",".join(csv_field(v) for v in vals))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["jsonl", "csv"])
    ap.add_argument("out")
    ap.add_argument("--products", type=int, default=0)
    ap.add_argument("--bytes", type=int, default=0)
    ap.add_argument("--bad-every", type=int, default=0)
    a = ap.parse_args()
    good = bad = lines = size = 0
    i = 0
    with open(a.out, "w", encoding="utf-8", newline="") as f:
        if a.format == "csv":
            head = ",".join(COLUMNS) + "\n"
            f.write(head)
            size += len(head.encode())
        while True:
            if a.products and i >= a.products:
                break
            if a.bytes and size >= a.bytes:
                break
            if not a.products and not a.bytes:
                break
            i += 1
            o = offer(i)
            is_bad = a.bad_every and i % a.bad_every == 0
            if a.format == "jsonl":
                text = json.dumps(o, ensure_ascii=False)
                if is_bad:
                    text = text[: len(text) // 2]
                text += "\n"
                lines += 1
            else:
                rows = csv_rows(o, is_bad)
                text = "\n".join(rows) + "\n"
                lines += len(rows)
                if is_bad:
                    bad += len(rows) - 1  # counted per row below
            f.write(text)
            size += len(text.encode())
            if is_bad:
                bad += 1
            else:
                good += 1
    print("products=%d bad=%d bytes=%d lines=%d" % (good, bad, size, lines))


if __name__ == "__main__":
    sys.exit(main())
