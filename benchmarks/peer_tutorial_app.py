"""The peer in the benchmark: a minimal FastAPI app protected the way FastAPI's security tutorial does it.

FastAPI's "OAuth2 with Password (and hashing), Bearer with JWT tokens" tutorial (``docs_src/security/
tutorial004``): ``OAuth2PasswordBearer`` reads the header, a dependency calls ``jwt.decode`` with the
secret and looks the user up, a second dependency checks they are active, and ``/users/me/`` answers with
a ``User`` model. Only what a protected request runs is kept (no password login: the benchmark mints
its token with ``create_access_token``), and the user table is a dict, as in the tutorial.

    python benchmarks/peer_tutorial_app.py    # prints its port, serves until standard input closes

It runs on the lab server's own socket setup and uvicorn settings, so the comparison is of the apps.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from jwt.exceptions import InvalidTokenError
from pydantic import BaseModel

SECRET_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"  # the tutorial's sample
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30

fake_users_db = {
    "johndoe": {"username": "johndoe", "full_name": "John Doe", "email": "johndoe@example.com",
                "hashed_password": "(not used here)", "disabled": False},
}


class TokenData(BaseModel):
    username: str | None = None


class User(BaseModel):
    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool | None = None


class UserInDB(User):
    hashed_password: str


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
app = FastAPI()


def get_user(db, username: str):
    if username in db:
        return UserInDB(**db[username])
    return None


def create_access_token(data: dict, expires_delta: timedelta | None = None) -> str:
    to_encode = data.copy()
    expire = datetime.now(timezone.utc) + (expires_delta or timedelta(minutes=15))
    to_encode.update({"exp": expire})
    return jwt.encode(to_encode, SECRET_KEY, algorithm=ALGORITHM)


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]):
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"})
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
        username = payload.get("sub")
        if username is None:
            raise credentials_exception
        token_data = TokenData(username=username)
    except InvalidTokenError:
        raise credentials_exception from None
    user = get_user(fake_users_db, username=token_data.username)
    if user is None:
        raise credentials_exception
    return user


async def get_current_active_user(current_user: Annotated[User, Depends(get_current_user)]):
    if current_user.disabled:
        raise HTTPException(status_code=400, detail="Inactive user")
    return current_user


@app.get("/users/me/", response_model=User)
async def read_users_me(current_user: Annotated[User, Depends(get_current_active_user)]):
    return current_user


@app.get("/hello")
async def hello() -> dict:
    """Unauthenticated, like the lab server's /api/hello: this app's own baseline."""
    return {"message": "hello, anyone"}


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import uvicorn

    from labserver.launch.serve import bind

    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    def exit_when_stdin_closes() -> None:
        while sys.stdin.buffer.read(1024):
            pass
        server.should_exit = True

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
