"""Twilio's signature, checked against the vectors Twilio's own library is tested with."""

from __future__ import annotations

import pytest

from pipeline.ingest.signature import TwilioSigner, url_forms

# twilio-python's tests/unit/test_request_validator.py: token, URL, parameters, signatures.
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
BODY = b'{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


@pytest.fixture
def signer() -> TwilioSigner:
    return TwilioSigner(TOKEN)


def test_the_documented_signature(signer: TwilioSigner) -> None:
    assert signer.sign(URL, PARAMS) == EXPECTED
    assert signer.valid(URL, EXPECTED, params=PARAMS)


def test_a_repeated_parameter_is_signed_with_its_values_sorted(signer: TwilioSigner) -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signer.sign(URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        (URL.replace(".com", ".com:1234"), EXPECTED),  # signed without the port
        (URL.replace(".com", ".com:1234").replace("https", "http"), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443 added
        (URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # with :80 added
    ],
)
def test_the_url_is_accepted_with_and_without_its_port(
    signer: TwilioSigner, url: str, signature: str
) -> None:
    assert signer.valid(url, signature, params=PARAMS)


def test_a_json_body_is_checked_by_its_hash_in_the_url(signer: TwilioSigner) -> None:
    url = f"{URL}&bodySHA256={BODY_HASH}"
    assert signer.valid(url, "a9nBmqA0ju/hNViExpshrM61xv4=", body=BODY)
    assert not signer.valid(url, "a9nBmqA0ju/hNViExpshrM61xv4=", body=BODY + b" ")
    assert not signer.valid(URL, signer.sign(URL), body=BODY)  # no hash in the URL


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: [*p[:-1], ("Caller", "+10000000000")],  # a value changed
        lambda p: [*p, ("Extra", "1")],  # a parameter added
        lambda p: p[1:],  # one left out
    ],
)
def test_a_changed_request_fails(signer: TwilioSigner, tamper: object) -> None:
    assert callable(tamper)
    assert not signer.valid(URL, EXPECTED, params=tamper(PARAMS))
    assert not signer.valid(URL.replace("foo=1", "foo=2"), EXPECTED, params=PARAMS)
    assert not TwilioSigner("54321").valid(URL, EXPECTED, params=PARAMS)
    assert not signer.valid(URL, None, params=PARAMS)
    assert not signer.valid(URL, "", params=PARAMS)


def test_the_token_is_never_shown(signer: TwilioSigner) -> None:
    assert TOKEN not in repr(signer) and TOKEN not in str(signer)


def test_url_forms() -> None:
    assert url_forms("https://h.example:8443/p?q=1") == (
        "https://h.example/p?q=1",
        "https://h.example:8443/p?q=1",
    )
    assert url_forms("http://h.example/p") == ("http://h.example/p", "http://h.example:80/p")
