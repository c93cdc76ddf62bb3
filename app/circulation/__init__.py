"""Circulation (obieg dokumentów): documents walk an approval path defined per class.

Importing the package tells the rest of the service what circulation knows: which documents a
user holds an open task on (they may read them meanwhile) and which documents are still in
circulation (retention never destroys those). Every process that uses circulation (the API,
the worker, the CLI) imports it, so the rules hold everywhere, not only in the web process.
"""

from app.circulation.repository import open_task_document_ids, running_document_ids
from app.retention.repository import register_unfinished_circulation
from app.security.permissions import register_task_documents

register_task_documents(open_task_document_ids)
register_unfinished_circulation(running_document_ids)
