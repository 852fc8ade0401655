# fmt: off
# ruff: noqa
# Generated from ui/settings.ui by `python -m sparktrainer_gui.forms`: edit the .ui file, not this one.
# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'settings.ui'
##
##
## WARNING! All changes made in this file will be lost when recompiling UI file!
################################################################################

from PySide6.QtCore import (QCoreApplication, QDate, QDateTime, QLocale,
    QMetaObject, QObject, QPoint, QRect,
    QSize, QTime, QUrl, Qt)
from PySide6.QtGui import (QBrush, QColor, QConicalGradient, QCursor,
    QFont, QFontDatabase, QGradient, QIcon,
    QImage, QKeySequence, QLinearGradient, QPainter,
    QPalette, QPixmap, QRadialGradient, QTransform)
from PySide6.QtWidgets import (QApplication, QComboBox, QFormLayout, QGridLayout,
    QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QSizePolicy, QSpacerItem, QVBoxLayout,
    QWidget)

class Ui_SettingsForm(object):
    def setupUi(self, SettingsForm):
        if not SettingsForm.objectName():
            SettingsForm.setObjectName(u"SettingsForm")
        SettingsForm.resize(720, 560)
        self.main_layout = QVBoxLayout(SettingsForm)
        self.main_layout.setObjectName(u"main_layout")
        self.title_label = QLabel(SettingsForm)
        self.title_label.setObjectName(u"title_label")
        self.title_label.setProperty(u"role", u"title")

        self.main_layout.addWidget(self.title_label)

        self.credentials_group = QGroupBox(SettingsForm)
        self.credentials_group.setObjectName(u"credentials_group")
        self.credentials_layout = QVBoxLayout(self.credentials_group)
        self.credentials_layout.setObjectName(u"credentials_layout")
        self.credentials_note_label = QLabel(self.credentials_group)
        self.credentials_note_label.setObjectName(u"credentials_note_label")
        self.credentials_note_label.setWordWrap(True)
        self.credentials_note_label.setProperty(u"role", u"hint")

        self.credentials_layout.addWidget(self.credentials_note_label)

        self.keyring_error = QLabel(self.credentials_group)
        self.keyring_error.setObjectName(u"keyring_error")
        self.keyring_error.setWordWrap(True)
        self.keyring_error.setVisible(False)
        self.keyring_error.setProperty(u"role", u"error")

        self.credentials_layout.addWidget(self.keyring_error)

        self.credentials_grid = QGridLayout()
        self.credentials_grid.setObjectName(u"credentials_grid")

        self.credentials_layout.addLayout(self.credentials_grid)


        self.main_layout.addWidget(self.credentials_group)

        self.data_group = QGroupBox(SettingsForm)
        self.data_group.setObjectName(u"data_group")
        self.data_layout = QFormLayout(self.data_group)
        self.data_layout.setObjectName(u"data_layout")
        self.data_dir_label = QLabel(self.data_group)
        self.data_dir_label.setObjectName(u"data_dir_label")

        self.data_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.data_dir_label)

        self.data_dir_row = QHBoxLayout()
        self.data_dir_row.setObjectName(u"data_dir_row")
        self.data_dir_edit = QLineEdit(self.data_group)
        self.data_dir_edit.setObjectName(u"data_dir_edit")
        self.data_dir_edit.setReadOnly(True)

        self.data_dir_row.addWidget(self.data_dir_edit)

        self.open_data_dir_button = QPushButton(self.data_group)
        self.open_data_dir_button.setObjectName(u"open_data_dir_button")

        self.data_dir_row.addWidget(self.open_data_dir_button)


        self.data_layout.setLayout(0, QFormLayout.ItemRole.FieldRole, self.data_dir_row)


        self.main_layout.addWidget(self.data_group)

        self.tracking_group = QGroupBox(SettingsForm)
        self.tracking_group.setObjectName(u"tracking_group")
        self.tracking_layout = QFormLayout(self.tracking_group)
        self.tracking_layout.setObjectName(u"tracking_layout")
        self.tracking_uri_label = QLabel(self.tracking_group)
        self.tracking_uri_label.setObjectName(u"tracking_uri_label")

        self.tracking_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.tracking_uri_label)

        self.tracking_row = QHBoxLayout()
        self.tracking_row.setObjectName(u"tracking_row")
        self.tracking_uri_edit = QLineEdit(self.tracking_group)
        self.tracking_uri_edit.setObjectName(u"tracking_uri_edit")

        self.tracking_row.addWidget(self.tracking_uri_edit)

        self.save_tracking_button = QPushButton(self.tracking_group)
        self.save_tracking_button.setObjectName(u"save_tracking_button")

        self.tracking_row.addWidget(self.save_tracking_button)


        self.tracking_layout.setLayout(0, QFormLayout.ItemRole.FieldRole, self.tracking_row)

        self.tracking_note_label = QLabel(self.tracking_group)
        self.tracking_note_label.setObjectName(u"tracking_note_label")
        self.tracking_note_label.setWordWrap(True)
        self.tracking_note_label.setProperty(u"role", u"hint")

        self.tracking_layout.setWidget(1, QFormLayout.ItemRole.SpanningRole, self.tracking_note_label)

        self.tracking_error = QLabel(self.tracking_group)
        self.tracking_error.setObjectName(u"tracking_error")
        self.tracking_error.setWordWrap(True)
        self.tracking_error.setVisible(False)
        self.tracking_error.setProperty(u"role", u"error")

        self.tracking_layout.setWidget(2, QFormLayout.ItemRole.SpanningRole, self.tracking_error)


        self.main_layout.addWidget(self.tracking_group)

        self.appearance_group = QGroupBox(SettingsForm)
        self.appearance_group.setObjectName(u"appearance_group")
        self.appearance_layout = QFormLayout(self.appearance_group)
        self.appearance_layout.setObjectName(u"appearance_layout")
        self.appearance_layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.theme_label = QLabel(self.appearance_group)
        self.theme_label.setObjectName(u"theme_label")

        self.appearance_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.theme_label)

        self.theme_combo = QComboBox(self.appearance_group)
        self.theme_combo.addItem("")
        self.theme_combo.addItem("")
        self.theme_combo.addItem("")
        self.theme_combo.setObjectName(u"theme_combo")

        self.appearance_layout.setWidget(0, QFormLayout.ItemRole.FieldRole, self.theme_combo)

        self.theme_error = QLabel(self.appearance_group)
        self.theme_error.setObjectName(u"theme_error")
        self.theme_error.setWordWrap(True)
        self.theme_error.setVisible(False)
        self.theme_error.setProperty(u"role", u"error")

        self.appearance_layout.setWidget(1, QFormLayout.ItemRole.FieldRole, self.theme_error)


        self.main_layout.addWidget(self.appearance_group)

        self.bottom_spacer = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)

        self.main_layout.addItem(self.bottom_spacer)


        self.retranslateUi(SettingsForm)

        QMetaObject.connectSlotsByName(SettingsForm)
    # setupUi

    def retranslateUi(self, SettingsForm):
        SettingsForm.setWindowTitle(QCoreApplication.translate("SettingsForm", u"Settings", None))
        self.title_label.setText(QCoreApplication.translate("SettingsForm", u"Settings", None))
        self.credentials_group.setTitle(QCoreApplication.translate("SettingsForm", u"Credentials", None))
        self.credentials_note_label.setText(QCoreApplication.translate("SettingsForm", u"Kept in the operating system's keyring, and only there. A stored value is never shown again: type a new one to replace it.", None))
        self.keyring_error.setText("")
        self.data_group.setTitle(QCoreApplication.translate("SettingsForm", u"Data", None))
        self.data_dir_label.setText(QCoreApplication.translate("SettingsForm", u"Data folder", None))
        self.open_data_dir_button.setText(QCoreApplication.translate("SettingsForm", u"Open folder", None))
        self.tracking_group.setTitle(QCoreApplication.translate("SettingsForm", u"Experiment tracking", None))
        self.tracking_uri_label.setText(QCoreApplication.translate("SettingsForm", u"MLflow tracking URI", None))
        self.save_tracking_button.setText(QCoreApplication.translate("SettingsForm", u"Save", None))
        self.tracking_note_label.setText(QCoreApplication.translate("SettingsForm", u"The runtime checks the URI, saves it in settings.json and moves its MLflow mirror there at once: the next runs land in the new store. Empty: the default store.", None))
        self.tracking_error.setText("")
        self.appearance_group.setTitle(QCoreApplication.translate("SettingsForm", u"Appearance", None))
        self.theme_label.setText(QCoreApplication.translate("SettingsForm", u"Theme", None))
        self.theme_combo.setItemText(0, QCoreApplication.translate("SettingsForm", u"System", None))
        self.theme_combo.setItemText(1, QCoreApplication.translate("SettingsForm", u"Light", None))
        self.theme_combo.setItemText(2, QCoreApplication.translate("SettingsForm", u"Dark", None))

        self.theme_error.setText("")
    # retranslateUi
