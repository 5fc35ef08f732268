#!/usr/bin/env python3
"""Builds the labelled classification sets dev.jsonl and test.jsonl.

Run from the repository root:  python3 testdata/classify/build_sets.py ../shared/corpora

Sources (see SOURCE.txt):
  * cfpb-complaints-sample (public domain): English complaints; the category label
    comes from the CFPB Issue (ISSUE_CATEGORY); rows from issues not listed there are
    not used. Amount, cause and wants are left unlabelled (keys absent).
  * banking77 (CC-BY-4.0): English customer messages; train.csv -> dev, test.csv -> test.
    Labels come from the intent (BANKING_COMPLAINT / BANKING_QUESTION). Hypothetical
    how-to questions inside complaint intents ("What do I do if...") are dropped, not
    relabelled, and card_arrival is split by whether the card is overdue.
  * own.py: our own Russian, Lithuanian and English messages, written from two disjoint
    template pools: pool "dev" for dev.jsonl, pool "test" (other sentences, products,
    numbers) for test.jsonl. Labels come from the templates.
  * rusentitweet (no licence file): its texts are NOT copied. rusentitweet_{dev,test}.jsonl
    keep only the tweet id and labels; the Go eval test joins them with the corpus text
    read from ../shared/corpora at test time.

A label key that is absent means "not labelled": the evaluation skips that field.
"""
import csv
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import own  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

ISSUE_CATEGORY = {
    "Attempts to collect debt not owed": "billing",
    "Cont'd attempts collect debt not owed": "billing",
    "Problem with a purchase shown on your statement": "billing",
    "Fees or interest": "billing",
    "Charged fees or interest you didn't expect": "billing",
    "Charged fees or interest I didn't expect": "billing",
    "Unexpected or other fees": "billing",
    "Problem with a lender or other company charging your account": "billing",
    "Trouble during payment process": "billing",
    "Problem caused by your funds being low": "billing",
    "False statements or representation": "misinformation",
    "Advertising and marketing, including promotional offers": "misinformation",
    "Confusing or missing disclosures": "misinformation",
    "Communication tactics": "service",
    "Problem with customer service": "service",
    "Dealing with your lender or servicer": "service",
    "Problem with a credit reporting company's investigation into an existing problem": "service",
    "Incorrect information on your report": "other",
    "Improper use of your report": "other",
    "Trouble using your card": "quality",
    "Money was not available when promised": "delivery",
    "Was approved for a loan, but didn't receive money": "delivery",
}
# At most this many rows per issue and split, so credit reporting does not swamp the set.
ISSUE_CAP = {"other": 12, "service": 14}
DEFAULT_CAP = 30

BANKING_COMPLAINT = {
    "transaction_charged_twice": "billing",
    "extra_charge_on_statement": "billing",
    "card_payment_fee_charged": "billing",
    "wrong_amount_of_cash_received": "billing",
    "direct_debit_payment_not_recognised": "billing",
    "card_payment_not_recognised": "billing",
    "cash_withdrawal_not_recognised": "billing",
    "Refund_not_showing_up": "billing",
    "card_payment_wrong_exchange_rate": "billing",
    "card_not_working": "quality",
    "virtual_card_not_working": "quality",
    "card_swallowed": "quality",
    "card_arrival": "delivery",
}
BANKING_QUESTION = [
    "age_limit", "apple_pay_or_google_pay", "atm_support", "card_about_to_expire",
    "change_pin", "country_support", "exchange_rate", "exchange_via_app",
    "fiat_currency_support", "get_physical_card", "getting_spare_card", "getting_virtual_card",
    "order_physical_card", "supported_cards_and_currencies", "top_up_limits",
    "visa_or_mastercard", "receiving_money", "edit_personal_details", "automatic_top_up",
    "card_delivery_estimate", "disposable_card_limits", "get_disposable_virtual_card",
    "verify_my_identity", "why_verify_identity", "topping_up_by_card", "card_linking",
]
HYPOTHETICAL = re.compile(
    r"^(how (do|can|would|should) i|what (do|should|can) i do if|what should i do if|"
    r"can i|is (it|there) (possible|a way)|what happens if|how to|what is|what are|are there)",
    re.I)
OVERDUE = re.compile(r"(not|n't|still|yet|waiting|week|days|never|where is)", re.I)


def cfpb(corpora, rng):
    path = os.path.join(corpora, "cfpb-complaints-sample", "complaints_sample.csv")
    rows = [r for r in csv.DictReader(open(path, encoding="utf-8"))
            if r["Consumer complaint narrative"].strip() and r["Issue"] in ISSUE_CATEGORY]
    rng.shuffle(rows)
    out = {"dev": [], "test": []}
    used = {}
    for r in rows:
        cat = ISSUE_CATEGORY[r["Issue"]]
        for split in ("dev", "test"):
            key = (split, r["Issue"])
            cap = ISSUE_CAP.get(cat, DEFAULT_CAP)
            if used.get(key, 0) < cap:
                used[key] = used.get(key, 0) + 1
                out[split].append({
                    "id": "cfpb-" + r["Complaint ID"], "channel": "email",
                    "subject": r["Issue"] if rng.random() < 0.3 else "",
                    "text": r["Consumer complaint narrative"].strip(),
                    "is_complaint": True, "lang": "en", "category": cat,
                    "source": "cfpb",
                })
                break
    return out


def banking(corpora, rng):
    out = {}
    for split, fname, per in (("dev", "train.csv", 14), ("test", "test.csv", 14)):
        path = os.path.join(corpora, "banking77", "banking_data", fname)
        by = {}
        for r in csv.DictReader(open(path, encoding="utf-8")):
            by.setdefault(r["category"], []).append(r["text"].strip())
        rows = []
        for intent, cat in BANKING_COMPLAINT.items():
            texts = [t for t in by[intent] if not HYPOTHETICAL.match(t)]
            if intent == "card_arrival":
                late = [t for t in texts if OVERDUE.search(t)]
                rng.shuffle(late)
                texts = late
            else:
                rng.shuffle(texts)
            for i, t in enumerate(texts[:per]):
                rows.append(ex("b77-%s-%s-%d" % (split, intent, i), t, True, "en", cat, "banking77"))
        for intent in BANKING_QUESTION:
            texts = list(by[intent])
            rng.shuffle(texts)
            for i, t in enumerate(texts[:6]):
                e = ex("b77-%s-%s-%d" % (split, intent, i), t, False, "en", "", "banking77")
                e["not_complaint"] = "question"
                rows.append(e)
        out[split] = rows
    return out


def ex(id_, text, is_c, lang, cat, source):
    return {"id": id_, "channel": "telegram", "subject": "", "text": text,
            "is_complaint": is_c, "lang": lang, "category": cat, "source": source}


def rusentitweet(corpora, rng):
    """Only ids and labels: positive, neutral and speech-act tweets with enough Cyrillic
    text are messages that are not complaints. Negative tweets would need reading one by
    one (some complain about a company), so they are left out."""
    out = {}
    for split, fname, n in (("dev", "rusentitweet_train.csv", 300), ("test", "rusentitweet_test.csv", 300)):
        path = os.path.join(corpora, "rusentitweet", fname)
        rows = [r for r in csv.DictReader(open(path, encoding="utf-8"))
                if r["label"] in ("positive", "neutral", "speech")
                and len(re.findall(r"[а-яё]", r["text"].lower())) >= 25]
        rng.shuffle(rows)
        out[split] = [{"id": "rst-" + r["id"], "is_complaint": False, "lang": "ru",
                       "category": "", "source": "rusentitweet"} for r in rows[:n]]
    return out


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    corpora = sys.argv[1] if len(sys.argv) > 1 else "../shared/corpora"
    rng = random.Random(20261129)
    c = cfpb(corpora, rng)
    b = banking(corpora, rng)
    r = rusentitweet(corpora, rng)
    for split in ("dev", "test"):
        rows = c[split] + b[split] + own.generate(split, random.Random(7 if split == "dev" else 11))
        write(os.path.join(HERE, split + ".jsonl"), rows)
        write(os.path.join(HERE, "rusentitweet_%s.jsonl" % split), r[split])
        counts = {}
        for x in rows:
            k = (x["source"], x["lang"], x["is_complaint"])
            counts[k] = counts.get(k, 0) + 1
        print(split, len(rows), sorted(counts.items()))


if __name__ == "__main__":
    main()
