"""Tables of accepted and rejected answers, pt-BR and en, for every slot parser."""
from __future__ import annotations

from typing import Any

import pytest

from sdr_agent.qualification import Flow
from sdr_agent.qualification.validators import (
    choice, company, consent, email_address, free_text, money, person_name, phone, spoken_numbers, timeframe,
)

from .support import NOW


def brl(low: float | None, high: float | None = None, period: str | None = None, currency: str = "BRL") -> dict[str, Any]:
    return {"min": low, "max": low if high is None else high, "currency": currency, "period": period}


def usd(low: float | None, high: float | None = None, period: str | None = None) -> dict[str, Any]:
    return brl(low, high, period, "USD")


UNKNOWN_MONEY = {"min": None, "max": None, "currency": None, "period": None, "unknown": True}

NAMES_ACCEPTED = [
    ("Maria", "Maria"),
    ("joão da silva", "João da Silva"),
    ("JOSÉ", "José"),
    ("Ana-Clara", "Ana-Clara"),
    ("D'Ávila Ramos", "D'Ávila Ramos"),
    ("me chamo Pedro", "Pedro"),
    ("eu me chamo Lucas Lima", "Lucas Lima"),
    ("Meu nome é ana souza", "Ana Souza"),
    ("Olá! Meu nome é Beatriz Costa.", "Beatriz Costa"),
    ("Sou o Carlos", "Carlos"),
    ("Oi, sou a Fernanda", "Fernanda"),
    ("Pode me chamar de Bia", "Bia"),
    ("é Maria Eduarda dos Santos", "Maria Eduarda dos Santos"),
    ("Ana Souza, da Acme", "Ana Souza"),
    ("Sou a Ana da Acme", "Ana"),
    ("Ana 😊", "Ana"),
    ("Zoë Müller", "Zoë Müller"),
    ("my name is John Smith", "John Smith"),
    ("I'm mary-jane o'neil", "Mary-Jane O'Neil"),
    ("It's Mary", "Mary"),
    ("this is Bob", "Bob"),
    ("I am Sam O'Connor", "Sam O'Connor"),
    ("Hi, this is Mark McDonald", "Mark McDonald"),
    ("Sorry, I don't speak Portuguese. My name is Mark Brown", "Mark Brown"),
]
NAMES_REJECTED = [
    "", "a", "A", "Ana123", "12345", "ana@acme.com", "www.acme.com", "ok", "sim", "yes", "no", "não", "oi", "Olá",
    "hello", "Bom dia", "não sei", "I don't know", "quero saber o preço", "I'm interested", "Sou o responsável",
    "CEO", "😀", "Um Dois Três Quatro Cinco Seis", "?",
]

COMPANIES_ACCEPTED = [
    ("Acme", "Acme"),
    ("acme ltda", "Acme Ltda"),
    ("Trabalho na Acme.", "Acme"),
    ("trabalho no Banco do Brasil", "Banco do Brasil"),
    ("Sou da Globex", "Globex"),
    ("da empresa Initech", "Initech"),
    ("padaria do joão", "Padaria do João"),
    ("Magazine Luiza S.A.", "Magazine Luiza S.A."),
    ("acme.com.br", "acme.com.br"),
    ("3M", "3M"),
    ("iFood", "iFood"),
    ("Sou a Ana da Acme, meu e-mail é ana@acme.com", "Acme"),
    ("Acme, meu e-mail é ana@acme.com", "Acme"),
    ("Sou autônoma", "Autônomo"),
    ("freelancer", "Autônomo"),
    ("I work at Globex", "Globex"),
    ("I work for Umbrella Corp", "Umbrella Corp"),
    ("from Hooli", "Hooli"),
    ("We are Wayne Enterprises", "Wayne Enterprises"),
    ("my company is Pied Piper", "Pied Piper"),
    ("The Home Depot", "The Home Depot"),
]
COMPANIES_REJECTED = [
    "", "😀", "?", "sim", "ok", "não sei", "não tenho", "none", "n/a", "qual o preço?", "por que você quer saber?",
    "quero saber mais", "a" * 81, "ana@acme.com", "Sou a Ana da Silva", "99",
]

EMAILS = [
    ("ana@acme.com", "ana@acme.com"),
    ("meu email é Ana.Souza@Acme.com.br", "Ana.Souza@acme.com.br"),
    ("é ana@acme.com.", "ana@acme.com"),
    ("john+crm@globex.io", "john+crm@globex.io"),
    ("my email is jane@umbrella.co.uk, thanks", "jane@umbrella.co.uk"),
]
EMAILS_REJECTED = ["ana@acme", "ana arroba acme.com", "@acme.com", "ana@@acme.com", "ana@acme..com", "sem email", "ana@localhost", ""]

PHONES = [
    ("11 98765-4321", "pt-BR", "+5511987654321"),
    ("(11) 98765-4321", "pt-BR", "+5511987654321"),
    ("meu celular é 11987654321", "pt-BR", "+5511987654321"),
    ("+55 11 98765-4321", "en", "+5511987654321"),
    ("(415) 555-0123", "en", "+14155550123"),
    ("+44 20 7946 0958", "pt-BR", "+442079460958"),
]
PHONES_REJECTED = [("12345", "pt-BR"), ("não tenho", "pt-BR"), ("0000000000", "en"), ("call me", "en")]

CHOICES = [
    ("1", "founder"), ("2)", "director"), ("opção 3", "manager"), ("Option 4", "analyst"), ("5 - Outro", "other"),
    ("é a 2", "director"), ("#3", "manager"), ("nº 1", "founder"), ("Sócio(a), fundador(a) ou CEO", "founder"),
    ("Director, VP or Head", "director"), ("sou CEO", "founder"), ("Sou gerente de projetos", "manager"),
    ("I'm a software engineer", "analyst"), ("head of marketing", "director"), ("Diretora comercial", "director"),
    ("estagiária", "analyst"), ("co-founder", "founder"), ("C-level", "director"), ("sou o dono", "founder"),
    ("3 anos como analista", "analyst"), ("GERENTE", "manager"),
    # Numbers said in words, as speech recognition writes them
    ("dois", "director"), ("opção três", "manager"), ("é a quatro", "analyst"), ("um", "founder"), ("option two", "director"),
    ("number five", "other"), ("Cinco.", "other"), ("um gerente", "manager"),
]
CHOICES_REJECTED = ["6", "0", "astronauta", "astronaut", "", "não sei", "🤷", "seis", "vinte", "one of the founders"]

CONSENT = [
    ("sim", True), ("Sim!", True), ("pode", True), ("claro", True), ("ok", True), ("Pode sim, claro", True),
    ("não tem problema", True), ("yes", True), ("sure", True), ("go ahead", True), ("no problem", True), ("👍", True),
    ("não", False), ("Não, obrigado", False), ("agora não", False), ("no", False), ("not now", False), ("nope", False),
    ("👎", False),
]
CONSENT_REJECTED = ["talvez", "quanto custa?", "", "who are you?"]

MONEY = [
    ("50 mil", brl(50000)),
    ("R$ 20.000,00", brl(20000)),
    ("20k", brl(20000)),
    ("5 mil por mês", brl(5000, period="month")),
    ("1,5 milhão", brl(1500000)),
    ("meio milhão", brl(500000)),
    ("mil reais", brl(1000)),
    ("entre 10 e 20 mil", brl(10000, 20000)),
    ("de 5 a 10 mil reais", brl(5000, 10000)),
    ("entre 500 e 2 mil", brl(500, 2000)),
    ("R$ 10.000 - R$ 20.000", brl(10000, 20000)),
    ("uns 3.500 por ano", brl(3500, period="year")),
    ("10,50", brl(10.5)),
    ("menos de mil", brl(0, 1000)),
    ("mais de 50k", brl(50000, None) | {"max": None}),
    ("acima de 10 mil reais", brl(10000) | {"max": None}),
    ("menos de R$ 1.000", brl(0, 1000)),
    ("até 20 mil", brl(20000)),
    ("sem orçamento", brl(0)),
    ("€3.000 por ano", brl(3000, period="year", currency="EUR")),
    ("50 funcionários e orçamento de 20 mil", brl(20000)),
    ("não sei", UNKNOWN_MONEY),
    ("ainda não definido", UNKNOWN_MONEY),
    ("2 mil e 500 reais", brl(2500)),
    ("R$ 1 milhão e 200 mil", brl(1200000)),
    ("10 mil e 20 mil", brl(10000, 20000)),
    ("entre 1 milhão e 500 mil", brl(500000, 1000000)),
    # Numbers said in words, as speech recognition writes them
    ("cinquenta mil reais", brl(50000)),
    ("dois mil e quinhentos reais", brl(2500)),
    ("vinte e cinco mil e quinhentos por mês", brl(25500, period="month")),
    ("entre dez e vinte mil", brl(10000, 20000)),
    ("tenho um orçamento de cinquenta mil", brl(50000)),
    ("duzentos e cinquenta mil", brl(250000)),
    ("cem mil", brl(100000)),
    ("quinhentos reais", brl(500)),
]
MONEY_EN = [
    ("US$ 5,000", usd(5000)),
    ("$5,000/month", usd(5000, period="month")),
    ("2.5M", usd(2500000)),
    ("10-20k", usd(10000, 20000)),
    ("between 10 and 20k", usd(10000, 20000)),
    ("around 15,000 dollars a year", usd(15000, period="year")),
    ("$1,200.50 one-time", usd(1200.5, period="once")),
    ("half a million", usd(500000)),
    ("R$ 30 mil", brl(30000)),
    ("not sure", UNKNOWN_MONEY),
    ("no budget", usd(0)),
    ("at least $2,000 a month", usd(2000, period="month") | {"max": None}),
    ("twenty thousand dollars", usd(20000)),
    ("two thousand five hundred a month", usd(2500, period="month")),
    ("a hundred thousand", usd(100000)),
    ("one million two hundred thousand", usd(1200000)),
    ("between ten and twenty thousand", usd(10000, 20000)),
]
MONEY_REJECTED = ["bastante", "a lot", "3 meses", "20.000 pessoas", "20%", "1" * 30, "1.1.1.1", "", "💰"]
# Side extraction demands a currency, or "mil"/"k" next to a budget word.
MONEY_FOUND = [("quero começar já, orçamento de 20 mil", 20000), ("temos R$ 5.000 por mês", 5000), ("about $3k", 3000)]
MONEY_NOT_FOUND = ["temos 50 funcionários", "somos 20 mil clientes", "abrimos em 2015", "1 2 3"]

TIMEFRAMES = [
    ("este mês", 0.5, "this month"),
    ("mês que vem", 1.0, "next month"),
    ("próximo trimestre", 4.0, "next quarter"),
    ("este trimestre", 1.0, "this quarter"),
    ("em 2 semanas", 0.5, "2 weeks"),
    ("daqui a 3 meses", 3.0, "3 months"),
    ("de 2 a 3 meses", 3.0, "3 months"),
    ("em 1,5 mês", 1.5, "1.5 months"),
    ("até o fim do ano", 10.0, "end of year"),
    ("ano que vem", 12.0, "next year"),
    ("imediatamente", 0.0, "immediately"),
    ("urgente!", 0.0, "immediately"),
    ("agora", 0.0, "immediately"),
    ("em maio", 2.0, "may"),
    ("agora não, talvez ano que vem", 12.0, "next year"),
    ("não sei", None, "unknown"),
    ("sem pressa", None, "no rush"),
    ("in 2 weeks", 0.5, "2 weeks"),
    ("in a few weeks", 0.7, "3 weeks"),
    ("next quarter", 4.0, "next quarter"),
    ("this month", 0.5, "this month"),
    ("ASAP", 0.0, "immediately"),
    ("next year", 12.0, "next year"),
    ("3-6 months", 6.0, "6 months"),
    ("by the end of the year", 10.0, "end of year"),
    ("not sure", None, "unknown"),
    ("just researching", None, "no rush"),
]
TIMEFRAMES_REJECTED = ["quando der", "whenever", "blah", "999 anos", "", "🤷", "logo"]
TIMEFRAMES_FOUND = ["queremos começar mês que vem", "we'd like to start in 2 weeks", "é urgente"]
TIMEFRAMES_NOT_FOUND = ["trabalho aqui há 3 meses", "não sei", "agora", "fundada em 2015"]


@pytest.mark.parametrize(("text", "expected"), NAMES_ACCEPTED)
def test_person_name_accepted(text: str, expected: str) -> None:
    assert person_name.parse(text, "pt-BR").value == expected


@pytest.mark.parametrize("text", NAMES_REJECTED)
def test_person_name_rejected(text: str) -> None:
    assert not person_name.parse(text, "en").ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Sou a Ana da Acme, meu e-mail é ana@acme.com", "Ana"), ("meu nome é ana", "Ana"), ("Hi, I'm John from Acme", "John")],
)
def test_person_name_found_in_a_sentence(text: str, expected: str) -> None:
    assert person_name.find(text, "pt-BR").value == expected


@pytest.mark.parametrize("text", ["I'm interested in a CRM", "sou o responsável pelo marketing", "Ana Souza", "sou da Acme"])
def test_person_name_not_found_without_a_clear_marker(text: str) -> None:
    assert not person_name.find(text, "pt-BR").ok


@pytest.mark.parametrize(("text", "expected"), COMPANIES_ACCEPTED)
def test_company_accepted(text: str, expected: str) -> None:
    assert company.parse(text, "pt-BR").value == expected


def test_company_self_employed_answer_follows_language() -> None:
    assert company.parse("self-employed", "en").value == "Self-employed"
    assert company.parse("sou MEI", "pt-BR").value == "Autônomo"


@pytest.mark.parametrize("text", COMPANIES_REJECTED)
def test_company_rejected(text: str) -> None:
    assert not company.parse(text, "pt-BR").ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [("I'm John from Acme Corp and I need a CRM", "Acme Corp"), ("trabalho na Globex e meu email é x@y.com", "Globex")],
)
def test_company_found_in_a_sentence(text: str, expected: str) -> None:
    assert company.find(text, "en").value == expected


@pytest.mark.parametrize("text", ["I'm from Brazil", "Sou a Ana da Silva", "vendas da empresa", "at 5pm"])
def test_company_not_found_without_a_clear_marker(text: str) -> None:
    assert not company.find(text, "en").ok


@pytest.mark.parametrize(("text", "expected"), EMAILS)
def test_email_accepted(text: str, expected: str) -> None:
    assert email_address.parse(text, "pt-BR").value == expected


@pytest.mark.parametrize("text", EMAILS_REJECTED)
def test_email_rejected(text: str) -> None:
    assert not email_address.parse(text, "en").ok


@pytest.mark.parametrize(("text", "language", "expected"), PHONES)
def test_phone_accepted(text: str, language: str, expected: str) -> None:
    assert phone.parse(text, language).value == expected


@pytest.mark.parametrize(("text", "language"), PHONES_REJECTED)
def test_phone_rejected(text: str, language: str) -> None:
    assert not phone.parse(text, language).ok


@pytest.mark.parametrize(("language", "region"), [("pt-BR", "BR"), ("en", "US"), ("en-GB", "GB"), ("pt", "BR"), ("fr", "US")])
def test_phone_region_follows_language(language: str, region: str) -> None:
    assert phone.region_for(language) == region


@pytest.mark.parametrize(("text", "expected"), CHOICES)
def test_choice_accepted(flow: Flow, text: str, expected: str) -> None:
    assert choice.parse(text, "pt-BR", flow.question_stage("role").options).value == expected


@pytest.mark.parametrize("text", CHOICES_REJECTED)
def test_choice_rejected(flow: Flow, text: str) -> None:
    assert not choice.parse(text, "en", flow.question_stage("role").options).ok


@pytest.mark.parametrize(("text", "expected"), CONSENT)
def test_consent_accepted(text: str, expected: bool) -> None:
    result = consent.parse(text, "pt-BR")
    assert result.ok and result.value is expected


@pytest.mark.parametrize("text", CONSENT_REJECTED)
def test_consent_rejected(text: str) -> None:
    assert not consent.parse(text, "pt-BR").ok


@pytest.mark.parametrize(("text", "expected"), MONEY)
def test_money_pt(text: str, expected: dict[str, Any]) -> None:
    assert money.parse(text, "pt-BR").value == expected


@pytest.mark.parametrize(("text", "expected"), MONEY_EN)
def test_money_en(text: str, expected: dict[str, Any]) -> None:
    assert money.parse(text, "en").value == expected


def test_money_flow_currency_overrides_language_default() -> None:
    assert money.parse("20 mil", "pt-BR", "EUR").value == brl(20000, currency="EUR")


@pytest.mark.parametrize("text", MONEY_REJECTED)
def test_money_rejected(text: str) -> None:
    assert not money.parse(text, "pt-BR").ok


@pytest.mark.parametrize(("text", "amount"), MONEY_FOUND)
def test_money_found_in_a_sentence(text: str, amount: float) -> None:
    assert money.find(text, "pt-BR").value["min"] == amount


@pytest.mark.parametrize("text", MONEY_NOT_FOUND)
def test_money_not_found_without_a_clear_marker(text: str) -> None:
    assert not money.find(text, "pt-BR").ok


@pytest.mark.parametrize(("text", "months", "label"), TIMEFRAMES)
def test_timeframe_accepted(text: str, months: float | None, label: str) -> None:
    assert timeframe.parse(text, "pt-BR", NOW).value == {"months": months, "label": label}


def test_timeframe_end_of_year_is_relative_to_now() -> None:
    from datetime import datetime, timezone

    december = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert timeframe.parse("até o fim do ano", "pt-BR", december).value == {"months": 1.0, "label": "end of year"}
    naive = datetime(2026, 3, 2, 13, 0)
    assert timeframe.parse("this year", "en", naive).value == {"months": 10.0, "label": "end of year"}


@pytest.mark.parametrize("text", TIMEFRAMES_REJECTED)
def test_timeframe_rejected(text: str) -> None:
    assert not timeframe.parse(text, "pt-BR", NOW).ok


@pytest.mark.parametrize("text", TIMEFRAMES_FOUND)
def test_timeframe_found_in_a_sentence(text: str) -> None:
    assert timeframe.find(text, "pt-BR", NOW).ok


@pytest.mark.parametrize("text", TIMEFRAMES_NOT_FOUND)
def test_timeframe_not_found_without_a_clear_phrase(text: str) -> None:
    assert not timeframe.find(text, "pt-BR", NOW).ok


@pytest.mark.parametrize(
    ("text", "min_length", "expected"),
    [("Preciso de um CRM", 3, "Preciso de um CRM"), ("  CRM  ", 3, "CRM"), ("um   CRM\n novo", 3, "um CRM novo"), ("CRM", 5, None),
     ("ok", 1, None), ("não sei", 3, None), ("12345", 3, None), ("🙂🙂🙂", 3, None), ("", 1, None)],
)
def test_free_text(text: str, min_length: int, expected: str | None) -> None:
    assert free_text.parse(text, "pt-BR", min_length).value == expected


@pytest.mark.parametrize(
    ("folded", "expected"),
    [
        ("vinte e cinco mil e quinhentos", "25 mil e 500"), ("entre dez e vinte mil", "entre 10 e 20 mil"),
        ("cento e um", "101"), ("duzentos e cinquenta e cinco", "255"), ("two hundred and fifty", "250"),
        ("twenty-five", "25"), ("a hundred k", "100 k"), ("ninety nine", "99"), ("dez reais e vinte", "10 reais e 20"),
        ("tenho um orcamento", "tenho um orcamento"), ("one of them", "one of them"), ("sou a fundadora", "sou a fundadora"),
        ("twenty twenty", "20 20"), ("zero", "0"),
    ],
)
def test_spoken_numbers_become_digits(folded: str, expected: str) -> None:
    assert spoken_numbers.numerals(folded) == expected


def test_a_lone_one_is_a_number_only_when_asked() -> None:
    assert spoken_numbers.numerals("um", lone_one=True) == "1"
    assert spoken_numbers.numerals("one", lone_one=False) == "one"
