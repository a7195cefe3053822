"""Generate an image with the typed client generated from schema.graphql.

    DOITONG_URL=http://127.0.0.1:8080 DOITONG_API_KEY=dt_test_… python3 main.py
"""

import os
import sys
import time

from doitong_client import Client, GenerateInput, GenerationType
from doitong_client.exceptions import GraphQLClientGraphQLMultiError


def main() -> int:
    url = os.environ.get("DOITONG_URL", "http://127.0.0.1:8080").rstrip("/") + "/graphql"
    key = os.environ["DOITONG_API_KEY"]
    client = Client(url=url, headers={"Authorization": f"Bearer {key}"})

    images = client.providers(type_=GenerationType.IMAGE).providers
    print("image providers:", ", ".join(p.id for p in images))

    try:
        started = client.generate(
            input=GenerateInput(type=GenerationType.IMAGE, input={"text": "A red fox in snow"})
        ).generate
    except GraphQLClientGraphQLMultiError as error:
        for e in error.errors:
            print(f"{(e.extensions or {}).get('code')}: {e.message}", file=sys.stderr)
        return 1
    print(f"{started.id}: {started.status.value} on {started.provider} ({started.credit_cost} credits)")

    while True:
        generation = client.generation(id=started.id).generation
        if generation.status.value in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.5)
    if generation.status.value != "COMPLETED":
        print(f"{generation.error.code}: {generation.error.message}", file=sys.stderr)
        return 1
    meta = generation.metadata
    print(f"done: {meta.width}x{meta.height} {meta.format} at {generation.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
