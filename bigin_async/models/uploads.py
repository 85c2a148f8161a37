"""The value of a file-upload field, built from files put on Zoho's side with ``client.files.upload``.

A file-upload field (a contract, a signed form on a contact) is not written with the file itself:
the file goes to Zoho's file store first (``client.files.upload``), which answers an encrypted id
per file, and a create or update names those ids in the field: ``[{"file_id": ...}, ...]``. Read
back, the field holds one entry per file with its name, size and ids (``File_Name__s``,
``Size__s``, ``File_Id__s``, ``attachment_Id``, ``id`` in Zoho CRM; Bigin's own keys are
unconfirmed, and every key of an entry is kept as sent). An update adds the files it names to
those the field holds; Zoho CRM removes one with ``{"attachment_id": <its entry's id>,
"_delete": None}`` in the list (unconfirmed for Bigin).
"""

from __future__ import annotations

from bigin_async.errors import ValidationError
from bigin_async.models.jobs import UploadedFile

__all__ = ["file_upload_value"]


def file_upload_value(*files: UploadedFile | str) -> list[dict[str, str]]:
    """The value that puts ``files`` in a file-upload field on create or update.

    ``files`` are what ``client.files.upload`` returned, or their ids as strings::

        uploaded = await bigin.files.upload("contract.pdf", "annex.pdf")
        await bigin.contacts.create({"Last_Name": "Ada", "Contract_File": file_upload_value(*uploaded)})

    Refused before anything is sent: no file at all (leave the field out to keep it as it is),
    something that is not a file or a non-empty id, and the same file twice (Zoho would store
    it twice in the field, or refuse the record).
    """
    if not files:
        raise ValidationError(
            "file_upload_value needs at least one uploaded file; leave the field out of the "
            "record to keep its files as they are"
        )
    ids: list[str] = []
    for file in files:
        if isinstance(file, UploadedFile):
            file_id = file.file_id
        elif isinstance(file, str):
            file_id = str.__str__(file)
        else:
            raise ValidationError(
                f"a file-upload field takes files from client.files.upload (or their ids), "
                f"not {type(file).__name__}"
            )
        if not file_id.strip() or file_id != file_id.strip() or not file_id.isprintable():
            raise ValidationError(f"{file_id!r} is not a file id from client.files.upload")
        if file_id in ids:
            raise ValidationError(f"file {file_id!r} is given twice; a field holds each file once")
        ids.append(file_id)
    return [{"file_id": file_id} for file_id in ids]
