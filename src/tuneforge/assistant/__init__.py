"""The customer-service assistant: intent, slots and a drafted reply per user message, over a conversation.

formats.py      the texts the three models see, shared by training-data preparation and serving
config.py       the assistant YAML: the three runs, the memory limits, the optional documents
documents.py    the document folder read as texts (HTML stripped to its text)
passages.py     documents cut into passages that keep their document and character offsets
document_index.py  the passages' index, built by the retriever run once and reused from disk
answers.py      which messages documents answer; the reader's best span, cited, or "I don't know"
memory.py       the conversations the server keeps, bounded in turns, age and number
prepare_sgd.py  ``python -m tuneforge.assistant.prepare_sgd SGD_DIR OUT_DIR``: the three training sets from SGD

The endpoint and its chat page live with the server (``tuneforge.serve.assistant``, ``serve.chat_page``).
"""
