"""The predictor on Flask, reading passengers through Flask-SQLAlchemy's ORM (SQLAlchemy 2's, as Flask's
documentation shows it): ``gunicorn apps.flask_orm_app:app``. PostgreSQL through psycopg, MariaDB through PyMySQL,
as the URL says. The routes are ``apps/flask_base.py``'s.
"""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apps import orm, store
from apps.flask_base import new_app, predict


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Passenger(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "passengers"
    id: Mapped[int] = mapped_column(primary_key=True)
    age: Mapped[int | None]
    sex: Mapped[str]


def read(ids: list[int]) -> list[dict[str, int]]:
    if url is None:
        raise store.UNAVAILABLE
    passengers = [db.session.get(Passenger, i) for i in ids]
    return [store.prediction(i, orm.row_of(p), predict) for i, p in zip(ids, passengers, strict=True)]


app = new_app(read, orm.ORM_DOWN)
# One engine per worker process: the app is imported in each.
if url := store.database_url():
    app.config["SQLALCHEMY_DATABASE_URI"] = orm.orm_url(url)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = orm.ORM_ENGINE
    db.init_app(app)
