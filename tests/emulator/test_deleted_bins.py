"""``GET /{Module}/deleted``: the recycle bin and the permanently deleted, over plain HTTP."""

from __future__ import annotations

import json

import httpx

from bigin_emulator import BiginEmulator
from bigin_emulator.state.deleted import DEFAULT_RETENTION, RecycleBin
from bigin_emulator.state.org_data import current_user
from tests.helpers.clock import FakeClock
from tests.helpers.emulator_api import insert

DELETED = "/bigin/v2/Contacts/deleted"


async def _deleted(api: httpx.AsyncClient, url: str = DELETED, **params: str) -> list[dict[str, object]]:
    response = await api.get(url, params=params)
    if response.status_code == 204:
        assert response.content == b""
        return []
    assert response.status_code == 200, response.text
    data: list[dict[str, object]] = response.json()["data"]
    return data


def _advance(clock: FakeClock, seconds: float, api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    """Move the org's clock; the client gets a token still valid then."""
    clock.advance(seconds)
    api.headers["Authorization"] = f"Zoho-oauthtoken {emulator.issue_token()}"


async def test_a_deleted_record_is_listed_in_the_recycle_bin_with_zoho_s_keys(
    api: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    assert (await api.get(DELETED)).status_code == 204
    first, second = await insert(api, "Contacts", {"First_Name": "Ada", "Last_Name": "L"}, {"Last_Name": "B"})
    clock.advance(60)
    assert (await api.delete(f"/bigin/v2/Contacts/{first}")).status_code == 200
    clock.advance(60)
    assert (await api.delete("/bigin/v2/Contacts", params={"ids": second})).status_code == 200
    response = await api.get(DELETED, params={"type": "recycle"})
    assert response.status_code == 200
    body = response.json()
    assert body["info"] == {"per_page": 200, "count": 2, "page": 1, "more_records": False}
    newest, oldest = body["data"]
    assert set(newest) == {"id", "display_name", "type", "deleted_by", "deleted_time", "created_by"}
    assert [newest["id"], oldest["id"]] == [second, first]  # the most recently deleted first
    assert oldest["display_name"] == "Ada L" and oldest["type"] == "recycle"
    admin = current_user().short_lookup()
    assert oldest["deleted_by"] == admin and oldest["created_by"] == admin
    assert oldest["deleted_time"] == "2026-01-01T00:01:00+00:00"
    assert newest["deleted_time"] == "2026-01-01T00:02:00+00:00"
    assert await _deleted(api, type="permanent") == []
    assert [e["id"] for e in await _deleted(api)] == [second, first]  # type=all is the default
    assert [e["id"] for e in await _deleted(api, type="all")] == [second, first]
    assert await _deleted(api, "/bigin/v2/Accounts/deleted") == []  # bins are per module


async def test_purging_moves_the_bin_to_permanent_and_retention_does_it_by_age(
    api: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    (contact,) = await insert(api, "Contacts", {"Last_Name": "C"})
    (deal,) = await insert(api, "Pipelines", {"Deal_Name": "D", "Stage": "Proposal"})
    await api.delete(f"/bigin/v2/Contacts/{contact}")
    await api.delete(f"/bigin/v2/Pipelines/{deal}")
    assert emulator.purge_recycle_bin("Contacts") == 1
    assert emulator.purge_recycle_bin("Contacts") == 0
    assert [(e["id"], e["type"]) for e in await _deleted(api, type="permanent")] == [(contact, "permanent")]
    assert await _deleted(api, type="recycle") == []
    deals = "/bigin/v2/Pipelines/deleted"
    assert [e["type"] for e in await _deleted(api, deals)] == ["recycle"]
    _advance(clock, DEFAULT_RETENTION - 1, api, emulator)
    assert [e["type"] for e in await _deleted(api, deals)] == ["recycle"]
    _advance(clock, 1, api, emulator)  # 60 days in the bin: Zoho empties it
    assert [e["type"] for e in await _deleted(api, deals)] == ["permanent"]
    (later,) = await insert(api, "Pipelines", {"Deal_Name": "E", "Stage": "Proposal"})
    await api.delete(f"/bigin/v2/Pipelines/{later}")
    kinds = [(e["id"], e["type"]) for e in await _deleted(api, deals)]
    assert kinds == [(later, "recycle"), (deal, "permanent")]
    assert emulator.purge_recycle_bin() == 1  # every module's bin
    assert [e["type"] for e in await _deleted(api, deals)] == ["permanent", "permanent"]


async def test_the_retention_is_configurable(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, recycle_bin_retention=10)
    [entry] = emulator.insert_records("Contacts", [{"Last_Name": "Brief"}])
    async with emulator.http_client(token=emulator.issue_token()) as api:
        await api.delete(f"/bigin/v2/Contacts/{entry['details']['id']}")
        assert [e["type"] for e in await _deleted(api)] == ["recycle"]
        clock.advance(10)
        assert [e["type"] for e in await _deleted(api)] == ["permanent"]


async def test_records_deleted_with_another_go_to_their_own_bins(api: httpx.AsyncClient) -> None:
    (account,) = await insert(api, "Accounts", {"Account_Name": "Acme"})
    (contact,) = await insert(api, "Contacts", {"Last_Name": "Worker", "Account_Name": {"id": account}})
    note, = await insert(
        api, "Notes", {"Note_Title": "Call back", "Note_Content": "x", "Parent_Id": {"id": contact},
                       "$se_module": "Contacts"}
    )  # fmt: skip
    assert (await api.delete(f"/bigin/v2/Accounts/{account}")).status_code == 200
    assert [(e["id"], e["display_name"]) for e in await _deleted(api, "/bigin/v2/Accounts/deleted")] == [
        (account, "Acme")
    ]
    assert [e["id"] for e in await _deleted(api)] == [contact]
    assert [e["id"] for e in await _deleted(api, "/bigin/v2/Notes/deleted")] == [note]


async def test_pages_of_the_bin(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    entries = emulator.insert_records("Contacts", [{"Last_Name": f"C{i}"} for i in range(5)])
    ids = [e["details"]["id"] for e in entries]
    await api.delete("/bigin/v2/Contacts", params={"ids": ",".join(ids)})
    first = (await api.get(DELETED, params={"per_page": "2"})).json()
    assert first["info"] == {"per_page": 2, "count": 2, "page": 1, "more_records": True}
    last = (await api.get(DELETED, params={"per_page": "2", "page": "3"})).json()
    assert last["info"] == {"per_page": 2, "count": 1, "page": 3, "more_records": False}
    pages = [first["data"]]
    pages.append((await api.get(DELETED, params={"per_page": "2", "page": "2"})).json()["data"])
    pages.append(last["data"])
    assert [e["id"] for page in pages for e in page] == ids[::-1]
    past = await api.get(DELETED, params={"per_page": "2", "page": "4"})
    assert past.status_code == 204


async def test_refusals(api: httpx.AsyncClient) -> None:
    bad_type = await api.get(DELETED, params={"type": "shredded"})
    assert bad_type.status_code == 400
    assert bad_type.json()["code"] == "INVALID_DATA" and bad_type.json()["details"] == {"param": "type"}
    assert (await api.get("/bigin/v2/Widgets/deleted")).json()["code"] == "INVALID_MODULE"
    too_many = await api.get(DELETED, params={"per_page": "201"})
    assert too_many.status_code == 400 and too_many.json()["details"] == {"param": "per_page"}
    not_a_page = await api.get(DELETED, params={"page": "0"})
    assert not_a_page.status_code == 400
    assert (await api.post(DELETED, json={})).json()["code"] == "INVALID_REQUEST_METHOD"


async def test_a_deleted_id_deleted_again_stays_one_entry(api: httpx.AsyncClient) -> None:
    (contact,) = await insert(api, "Contacts", {"Last_Name": "Once"})
    await api.delete(f"/bigin/v2/Contacts/{contact}")
    again = await api.delete(f"/bigin/v2/Contacts/{contact}")
    assert again.status_code == 400
    assert [e["id"] for e in await _deleted(api)] == [contact]


async def test_the_bins_are_saved_and_restored_with_the_state(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock)
    ids = [
        e["details"]["id"]
        for e in emulator.insert_records("Contacts", [{"Last_Name": "A"}, {"Last_Name": "B"}])
    ]
    async with emulator.http_client(token=emulator.issue_token()) as api:
        await api.delete("/bigin/v2/Contacts", params={"ids": ",".join(ids)})
    emulator.purge_recycle_bin()
    saved = json.loads(json.dumps(emulator.export_state()))  # as the CLI saves it
    restored = BiginEmulator(clock=clock)
    restored.import_state(saved)
    async with restored.http_client(token=restored.issue_token()) as api:
        kinds = [(e["id"], e["type"]) for e in await _deleted(api)]
    assert kinds == [(ids[1], "permanent"), (ids[0], "permanent")]
    older = {key: value for key, value in saved.items() if key != "recycle_bin"}  # a state from before bins
    from_before = BiginEmulator(clock=clock)
    from_before.import_state(older)
    assert from_before.ctx.recycle_bin.entries("Contacts", "all") == []


def test_a_clock_set_back_keeps_the_bin_in_deletion_time_order() -> None:
    clock = FakeClock()
    bin_ = RecycleBin(clock, str, retention=100)
    admin = current_user().short_lookup()
    bin_.add("Contacts", "1", "first", admin, admin)
    clock.advance(50)
    bin_.add("Contacts", "2", "second", admin, admin)
    assert bin_.entries("Contacts", "recycle")[0].id == "2"
    clock.advance(60)  # 110 s after the first delete: it expires
    assert [e.type for e in bin_.entries("Contacts", "all")] == ["recycle", "permanent"]
    clock.advance(-100)  # set back to 10 s after the first delete
    bin_.add("Contacts", "3", "third", admin, admin)
    assert [e.id for e in bin_.entries("Contacts", "all")] == ["2", "3", "1"]
    clock.advance(105)  # 105 s after the third delete, 65 after the second
    assert [(e.id, e.type) for e in bin_.entries("Contacts", "all")] == [
        ("2", "recycle"),
        ("3", "permanent"),
        ("1", "permanent"),
    ]
