"""What people and programs touch: the REST API, the customer chat, the staff UI, HTTP auth and
`lotse serve`. It formats what ``bot.chat`` returns; gradio, fastapi and uvicorn live only here."""
